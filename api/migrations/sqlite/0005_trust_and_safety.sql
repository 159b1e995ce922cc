-- no-transaction
-- Trust and safety: the moderator role, posts hidden by moderators, reports, muted words and the
-- handles' confusable skeletons. Keep it in step with migrations/postgres/0006_trust_and_safety.sql.
--
-- SQLite cannot alter a CHECK constraint: `users` is rebuilt (SQLite's documented procedure,
-- https://sqlite.org/lang_altertable.html#otheralter), with foreign keys off so that dropping the
-- old table deletes nothing, and all of it in one transaction. Hence `no-transaction` above:
-- `PRAGMA foreign_keys` cannot change inside a transaction.
PRAGMA foreign_keys = OFF;
BEGIN;

-- `moderator`: works the report queue and hides or removes posts; `admin` does everything.
-- `handle_skeleton`: the handle's UTS #39 confusable skeleton, so that a new handle that reads
-- like an existing one (`rnike` for `mike`) is refused; NULL until the application fills it (on
-- start, for rows written before this migration).
CREATE TABLE users_rebuilt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    handle          TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL DEFAULT '',
    bio             TEXT    NOT NULL DEFAULT '',
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'user'
                    CHECK (role IN ('user', 'creator', 'moderator', 'admin')),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'suspended', 'banned')),
    suspended_until BIGINT,
    status_reason   TEXT    NOT NULL DEFAULT '',
    handle_skeleton TEXT
);
INSERT INTO users_rebuilt (id, handle, display_name, bio, password_hash, role, created_at,
                           updated_at, status, suspended_until, status_reason)
SELECT id, handle, display_name, bio, password_hash, role, created_at, updated_at, status,
       suspended_until, status_reason
FROM users;
-- AUTOINCREMENT's high-water mark survives: an id is never given twice (the audit log and
-- reports name ids without foreign keys).
CREATE TEMP TABLE users_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'users';
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
DELETE FROM sqlite_sequence WHERE name = 'users';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'users', MAX(s) FROM (SELECT seq AS s FROM temp.users_sequence UNION ALL SELECT MAX(id) FROM users)
HAVING MAX(s) IS NOT NULL;
DROP TABLE temp.users_sequence;
CREATE INDEX users_restricted ON users (status) WHERE status <> 'active';
CREATE INDEX users_handle_skeleton ON users (handle_skeleton);
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, handle, display_name) VALUES (new.id, new.handle, new.display_name);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, handle, display_name) VALUES ('delete', old.id, old.handle, old.display_name);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF handle, display_name ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, handle, display_name) VALUES ('delete', old.id, old.handle, old.display_name);
    INSERT INTO users_fts (rowid, handle, display_name) VALUES (new.id, new.handle, new.display_name);
END;

-- A post a moderator hid: out of every list and unreadable except to its author and
-- moderators, until restored. (A removal is a deletion: `deleted_at`, for good.)
ALTER TABLE posts ADD COLUMN hidden_at BIGINT;
ALTER TABLE posts ADD COLUMN hidden_reason TEXT NOT NULL DEFAULT '';

-- Reports: a user reports a post or a user; moderators see them grouped by target and resolve
-- (with the audit entry of the action taken) or dismiss every open report on a target at once.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_user BIGINT  NOT NULL,
    target_post BIGINT,
    category    TEXT    NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
    created_at  BIGINT  NOT NULL,
    closed_at   BIGINT,
    closed_by   BIGINT,
    outcome     TEXT    NOT NULL DEFAULT '',
    audit_id    BIGINT
);
CREATE INDEX reports_open_target ON reports (status, target_user, target_post);
CREATE INDEX reports_reporter ON reports (reporter_id, id);
-- One open report per reporter and target.
CREATE UNIQUE INDEX reports_open_once ON reports (reporter_id, target_user, COALESCE(target_post, 0))
    WHERE status = 'open';

-- Muted words and phrases (normalised: lowercase, single spaces), each until `expires_at` or for
-- good (NULL).
CREATE TABLE muted_words (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phrase     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    UNIQUE (user_id, phrase)
);

PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
