-- Sign-ins: one row per login, named by the refresh-token family it started. An access token
-- carries its session id; a request is accepted only while the session is live (`ended_at` IS
-- NULL), checked against a per-replica cache the change log keeps current (`principals.rs`).
-- Logout, a reused refresh token, a password change and `DELETE /v1/me/sessions/{id}` end
-- sessions.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family        TEXT   NOT NULL UNIQUE,
    device        TEXT   NOT NULL DEFAULT '',
    ip            TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX sessions_user_live ON sessions (user_id, ended_at, id);

-- Sign-ins made before this migration: one session per refresh-token family, live while one of
-- its tokens is neither used nor revoked.
INSERT INTO sessions (user_id, family, created_at, last_used_at, ended_at)
SELECT user_id, family, MIN(created_at), MAX(created_at),
       CASE WHEN SUM(CASE WHEN used_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) = 0
            THEN MAX(COALESCE(revoked_at, used_at)) END
FROM refresh_tokens GROUP BY user_id, family;
