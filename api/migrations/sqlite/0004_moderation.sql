-- Moderation: an account's standing, and the audit log of every moderation and admin action.
-- Keep it in step with migrations/postgres/0005_moderation.sql.

-- `active`; `suspended` until `suspended_until` (Unix seconds; the account is active again
-- from then on, without a write); `banned` until unbanned. A suspended or banned account
-- cannot sign in or act, and its posts are withheld from every list (`principals.rs`, the
-- engine's withheld authors), both kept current by the change record `restricted`.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended', 'banned'));
ALTER TABLE users ADD COLUMN suspended_until BIGINT;
ALTER TABLE users ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX users_restricted ON users (status) WHERE status <> 'active';

-- Append-only: one row per action, written in the action's own transaction. `actor_id` is
-- NULL for the command line (`social-live admin create`); no foreign keys, so the history
-- outlives the accounts it names.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT  NOT NULL,
    actor_id    BIGINT,
    action      TEXT    NOT NULL,
    target_user BIGINT,
    target_post BIGINT,
    reason      TEXT    NOT NULL DEFAULT '',
    details     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_target_user ON audit_log (target_user, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
