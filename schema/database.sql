-- graphene's history database: every campaign, the targets it ran, and one row
-- per execution with the escapes it found. This file is the whole schema at
-- kSchemaVersion (schema/database.h); the store embeds it and runs it on an
-- empty database, then sets PRAGMA user_version. Older databases are brought
-- here by the store's migration steps instead, so a change to this file comes
-- with a version bump and a migration.
--
-- The views, and the triggers that keep the count tables below up to date,
-- are in database_derived.sql: they are dropped and created again whenever
-- the schema version changes, so migrations never repeat them.
--
-- Connection settings (WAL, foreign keys, busy timeout, synchronous=NORMAL)
-- are per connection and set by the store, not here.
--
-- Conventions: times are UTC ISO-8601 text ("2024-05-01T12:34:56.789Z");
-- booleans are 0/1 integers; 64-bit unsigned values (seeds, ids) are stored
-- as the signed integer with the same bits, as SQLite has no unsigned type.

-- One invocation of analyze/run-all, or one submission to a coordinator.
CREATE TABLE campaigns (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  finished_at TEXT,                    -- NULL while running
  command TEXT NOT NULL DEFAULT '',    -- the command line, for people
  seed INTEGER NOT NULL DEFAULT 0,     -- input generation is reproducible from it
  options TEXT NOT NULL DEFAULT '{}',  -- JSON: repeat, timeout, grace, ...
  root TEXT NOT NULL DEFAULT '',       -- folder targets are resolved from
  git_commit TEXT,                     -- of `root`, when it is a git checkout
  status TEXT NOT NULL
    CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
  -- Jobs the campaign expands to; a running campaign is complete when it has
  -- this many executions, which is how a restarted coordinator resumes it.
  total_jobs INTEGER NOT NULL DEFAULT 0,
  -- Since version 2. A client's idempotency token, so that a submission
  -- retried after a lost reply creates one campaign; NULL for local campaigns.
  submission TEXT,
  -- The test folder its agents run, when shipped as a bundle; NULL when
  -- targets are read from `root` directly.
  bundle TEXT REFERENCES bundles (hash),
  -- The execution plan's parameters (as in schema/execution.h's Job), so that
  -- a restarted coordinator rebuilds the same plan: runs per input, the
  -- call's timeout, the grace period after it, each process's address-space
  -- limit, processes alive at once, and whether transients count as escapes.
  repeat INTEGER NOT NULL DEFAULT 1,
  timeout_ms INTEGER NOT NULL DEFAULT 5000,
  grace_ms INTEGER NOT NULL DEFAULT 100,
  memory_limit_mb INTEGER NOT NULL DEFAULT 4096,
  max_processes INTEGER NOT NULL DEFAULT 256,
  strict INTEGER NOT NULL DEFAULT 0 CHECK (strict IN (0, 1))
);
CREATE INDEX campaigns_by_status ON campaigns (status);
CREATE INDEX campaigns_by_created_at ON campaigns (created_at);
CREATE UNIQUE INDEX campaigns_by_submission ON campaigns (submission)
  WHERE submission IS NOT NULL;

-- Every target ever run, named by its spec as given
-- ("fixtures/python/escape_threads.py:spawn_daemon_thread"), so that its
-- history joins across campaigns.
CREATE TABLE targets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

-- The targets of a campaign in the order they were given, with what their
-- docstrings said at the time (the code may change between campaigns).
CREATE TABLE campaign_targets (
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  target_id INTEGER NOT NULL REFERENCES targets (id),
  file TEXT NOT NULL,
  line INTEGER NOT NULL,
  expected TEXT CHECK (expected IN ('ESCAPE', 'SAFE')),  -- NULL: no expectation
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (campaign_id, position)
);
CREATE INDEX campaign_targets_by_target ON campaign_targets (target_id);

-- Every distinct input. A BLOB, because inputs are bytes: they may hold NUL
-- and need not be valid UTF-8.
CREATE TABLE inputs (
  id INTEGER PRIMARY KEY,
  value BLOB NOT NULL UNIQUE
);

-- A campaign's inputs in plan order, so that a restarted coordinator expands
-- it to the same jobs without generating them again.
CREATE TABLE campaign_inputs (
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  input_id INTEGER NOT NULL REFERENCES inputs (id),
  PRIMARY KEY (campaign_id, position)
);

-- Test folders shipped to agents, content-addressed: hash is the hex SHA-256
-- of content, computed by whoever stores it (the store does not check it).
-- Campaigns name theirs in campaigns.bundle.
CREATE TABLE bundles (
  hash TEXT PRIMARY KEY,
  content BLOB NOT NULL,
  size INTEGER NOT NULL,     -- of content, in bytes
  created_at TEXT NOT NULL   -- when it was first stored
);

-- One row per job: running one target once with one input. The UNIQUE
-- (campaign_id, job_index) is what guarantees that a job re-run after an
-- agent died is stored once: the store inserts with ON CONFLICT DO NOTHING.
CREATE TABLE executions (
  id INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  job_index INTEGER NOT NULL,
  target_id INTEGER NOT NULL REFERENCES targets (id),
  input_id INTEGER NOT NULL REFERENCES inputs (id),
  repeat INTEGER NOT NULL,
  status TEXT NOT NULL,  -- ok, exception, crash, timeout, error (schema/names.h)
  escape_detected INTEGER NOT NULL CHECK (escape_detected IN (0, 1)),
  duration_ms REAL NOT NULL,  -- the call itself, without the grace period
  error TEXT NOT NULL DEFAULT '',
  output TEXT NOT NULL DEFAULT '',  -- captured stdout/stderr, bounded by the agent
  agent TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL,  -- when the result was stored
  UNIQUE (campaign_id, job_index)
);
CREATE INDEX executions_by_target_input ON executions (target_id, input_id);

-- What an execution left running. transient = 0: still alive after the grace
-- period (an escape); transient = 1: alive when the function returned but
-- gone by the end of the grace period. Rows of one execution keep their
-- order by id.
CREATE TABLE escapes (
  id INTEGER PRIMARY KEY,
  execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  transient INTEGER NOT NULL CHECK (transient IN (0, 1)),
  kind TEXT NOT NULL,  -- thread, timer, process, ... (schema/names.h)
  name TEXT NOT NULL,
  daemon INTEGER NOT NULL CHECK (daemon IN (0, 1)),
  pid INTEGER,        -- processes only
  native_id INTEGER,  -- threads: the OS thread id, when known
  started_at TEXT NOT NULL,  -- "file:line" of the code that started it
  started_in TEXT NOT NULL,  -- the function containing started_at
  running TEXT NOT NULL      -- its function, or a process's command line
);
CREATE INDEX escapes_by_execution ON escapes (execution_id);

-- Since version 3: running counts of executions and escapes at three grains,
-- kept by the triggers in database_derived.sql as executions are inserted,
-- changed or deleted. The history commands and the views read these instead
-- of aggregating `executions`, so that they answer in milliseconds on tens of
-- millions of executions. An execution counts as an escape when
-- escape_detected = 1; last_run is when the latest counted result was stored
-- (deleting executions does not move it back).

-- Per (target, input, campaign).
CREATE TABLE campaign_input_counts (
  target_id INTEGER NOT NULL REFERENCES targets (id),
  input_id INTEGER NOT NULL REFERENCES inputs (id),
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  executions INTEGER NOT NULL,
  escapes INTEGER NOT NULL,
  last_run TEXT NOT NULL,
  PRIMARY KEY (target_id, input_id, campaign_id)
) WITHOUT ROWID;
CREATE INDEX campaign_input_counts_by_campaign ON campaign_input_counts (campaign_id, target_id);

-- Per (target, input) over all campaigns; `campaigns` counts those it ran in.
CREATE TABLE input_counts (
  target_id INTEGER NOT NULL REFERENCES targets (id),
  input_id INTEGER NOT NULL REFERENCES inputs (id),
  campaigns INTEGER NOT NULL,
  executions INTEGER NOT NULL,
  escapes INTEGER NOT NULL,
  last_run TEXT NOT NULL,
  PRIMARY KEY (target_id, input_id)
) WITHOUT ROWID;

-- Per (target, campaign): `inputs` counts its distinct inputs and
-- `escaping_inputs` those that escaped at least once.
CREATE TABLE campaign_target_counts (
  target_id INTEGER NOT NULL REFERENCES targets (id),
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  inputs INTEGER NOT NULL,
  escaping_inputs INTEGER NOT NULL,
  executions INTEGER NOT NULL,
  escapes INTEGER NOT NULL,
  last_run TEXT NOT NULL,
  PRIMARY KEY (target_id, campaign_id)
) WITHOUT ROWID;
CREATE INDEX campaign_target_counts_by_campaign ON campaign_target_counts (campaign_id);
