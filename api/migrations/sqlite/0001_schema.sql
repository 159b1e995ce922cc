-- The Social Live schema on SQLite. Times are Unix seconds (BIGINT); booleans are absent on
-- purpose (the sqlx Any driver cannot read SQLite BOOLEAN), soft deletes are nullable times.
-- Keep it in step with migrations/postgres/0001_schema.sql: same tables, same columns.

-- Accounts. `handle` is unique case-insensitively (stored lowercased by the application);
-- an empty `password_hash` disables password login (seeded demo users).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    handle        TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    bio           TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'creator', 'admin')),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- Opaque refresh tokens, stored as SHA-256 hashes. Every refresh consumes a token (`used_at`)
-- and issues the next one of the same `family`; presenting a used token revokes the family.
CREATE TABLE refresh_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family      TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE follows (
    follower_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, follower_id);

-- Blocks and mutes: either hides the target's posts from the user's feed; a block also
-- removes the follows between the two and stops the target from following the user.
CREATE TABLE hides (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL CHECK (kind IN ('block', 'mute')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, target_id, kind)
);

-- Posts. `topics` holds normalised topic labels separated by single spaces.
CREATE TABLE posts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id  BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    topics     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX posts_author ON posts (author_id, id);

CREATE TABLE likes (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX likes_post ON likes (post_id);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id    BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX comments_post ON comments (post_id, id);
CREATE INDEX comments_author ON comments (author_id);

-- Impressions: one row per user and post (the first view), `views` counts repeats.
CREATE TABLE views (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    views      BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX views_post ON views (post_id);

-- Full-text search (FTS5, external content kept in step by triggers).
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text, topics, content = 'posts', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, text, topics) VALUES (new.id, new.text, new.topics);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text, topics) VALUES ('delete', old.id, old.text, old.topics);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF text, topics ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text, topics) VALUES ('delete', old.id, old.text, old.topics);
    INSERT INTO posts_fts (rowid, text, topics) VALUES (new.id, new.text, new.topics);
END;

CREATE VIRTUAL TABLE users_fts USING fts5 (
    handle, display_name, content = 'users', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
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
