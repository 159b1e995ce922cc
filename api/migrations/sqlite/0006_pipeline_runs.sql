-- The pipeline's run history and the lease that lets one process at a time run it.
-- Keep it in step with migrations/postgres/0007_pipeline_runs.sql.

-- One row per attempt of a pipeline run, newest last (`store/runs.rs`).
-- `trigger`: `schedule` (a cron tick), `admin` (`POST /v1/admin/pipeline/runs` or
-- `scheduler --run-now`) or `retry` (a failed or abandoned attempt run again).
-- `scheduled_for`: the cron tick, Unix seconds; unique, so every scheduler that fires on the
-- same tick inserts the same one run (NULL for the other triggers: NULLs are distinct).
-- `requested_by`: the admin who asked (no foreign key: the history outlives its accounts).
-- `attempt`: 1 for a first attempt, n + 1 for the retry of attempt n (`retry_of`).
-- `status`: `queued` → `running` → `published` | `rejected` (by the promotion gate) | `failed`
-- | `abandoned` (its runner lost the lease: died or was cut off mid-run).
-- `runner`, `fence`: the lease holder that claimed it and the lease's fencing token then; a
-- runner whose fence is stale cannot finish it.
-- `not_before`: a queued run is claimed from then on (a retry's backoff), Unix seconds.
-- `counts`, `metrics`, `gate`: JSON text (the data's sizes, the model's metrics, the promotion
-- gate's decision); `version`: the model version the run wrote.
CREATE TABLE pipeline_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger       TEXT    NOT NULL CHECK (trigger IN ('schedule', 'admin', 'retry')),
    scheduled_for BIGINT  UNIQUE,
    requested_by  BIGINT,
    attempt       BIGINT  NOT NULL DEFAULT 1,
    retry_of      BIGINT,
    status        TEXT    NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'published', 'rejected', 'failed', 'abandoned')),
    runner        TEXT,
    fence         BIGINT,
    not_before    BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    version       TEXT,
    counts        TEXT,
    metrics       TEXT,
    gate          TEXT,
    error         TEXT
);
-- The claim's scan: queued runs in id order.
CREATE INDEX pipeline_runs_queued ON pipeline_runs (id) WHERE status = 'queued';
CREATE INDEX pipeline_runs_running ON pipeline_runs (fence) WHERE status = 'running';

-- The lease: one row per name (`pipeline`). `holder` is the process that may claim runs
-- (host:pid:random; empty once released), until `expires_at` (Unix milliseconds) unless it
-- renews. `fence` grows by one whenever the lease changes hands: the fencing token that
-- makes a runner that lost it unable to finish a run.
CREATE TABLE pipeline_lease (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    fence      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
