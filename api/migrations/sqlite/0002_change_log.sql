-- The change log (a transactional outbox): every write that other replicas, streams or caches
-- must learn about appends one row here in the same transaction as the write. Consumers read
-- `id > last` in order. SQLite has one writer at a time, so ids are assigned in commit order.
CREATE TABLE changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at_ms BIGINT  NOT NULL,
    -- The record's kind and its JSON payload (`api/src/changes/record.rs`, versioned).
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL
);
CREATE INDEX changes_created ON changes (created_at_ms);

-- One row: the highest position retention deleted. A consumer whose last applied position is
-- below it missed changes and reloads its state from a snapshot.
CREATE TABLE change_log (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    pruned_through BIGINT  NOT NULL
);
INSERT INTO change_log (singleton, pruned_through) VALUES (1, 0);

-- A feed request that misses the context cache reads its user's context (followees, newest
-- interactions, the seen window, who blocked them) in one statement: newest-first indexes per
-- user that cover every column it reads, so each part is an index-only range scan (no heap
-- page per row, no sort).
CREATE INDEX follows_follower_time ON follows (follower_id, created_at, followee_id);
CREATE INDEX likes_user_time ON likes (user_id, created_at, post_id);
CREATE INDEX views_user_time ON views (user_id, created_at, post_id);
CREATE INDEX comments_author_time ON comments (author_id, created_at, id, post_id);
CREATE INDEX hides_target ON hides (target_id, kind);
