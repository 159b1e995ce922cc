-- Full-text indexes take new entries directly instead of through GIN's pending list. With the
-- pending list (fastupdate, the default) every search scans the unmerged entries linearly until
-- a vacuum merges them: after seeding 10,000 posts a one-word search took 5 ms instead of 0.4 ms
-- (EXPLAIN ANALYZE), which is what made search miss its latency target under load. Inserts pay a
-- little more (a post's dozen words go straight into the index).
ALTER INDEX posts_search SET (fastupdate = off);
ALTER INDEX users_search SET (fastupdate = off);
SELECT gin_clean_pending_list('posts_search'::regclass);
SELECT gin_clean_pending_list('users_search'::regclass);
