-- Schema version 1 -> 2: what a standalone coordinator needs to resume
-- campaigns after a restart and serve their results. schema/database.sql
-- describes the result (the columns and tables are commented there); this
-- step must leave a version 1 database exactly as that file creates one.
-- Runs in one transaction with the user_version bump (store/migration.h).

CREATE TABLE bundles (
  hash TEXT PRIMARY KEY,
  content BLOB NOT NULL,
  size INTEGER NOT NULL,     -- of content, in bytes
  created_at TEXT NOT NULL   -- when it was first stored
);

-- ADD COLUMN takes neither UNIQUE (hence the index) nor a REFERENCES column
-- with a non-NULL default. Existing campaigns get the defaults; their actual
-- parameters, if any, are in their `options`.
ALTER TABLE campaigns ADD COLUMN submission TEXT;
ALTER TABLE campaigns ADD COLUMN bundle TEXT REFERENCES bundles (hash);
ALTER TABLE campaigns ADD COLUMN repeat INTEGER NOT NULL DEFAULT 1;
ALTER TABLE campaigns ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 5000;
ALTER TABLE campaigns ADD COLUMN grace_ms INTEGER NOT NULL DEFAULT 100;
ALTER TABLE campaigns ADD COLUMN memory_limit_mb INTEGER NOT NULL DEFAULT 4096;
ALTER TABLE campaigns ADD COLUMN max_processes INTEGER NOT NULL DEFAULT 256;
ALTER TABLE campaigns ADD COLUMN strict INTEGER NOT NULL DEFAULT 0 CHECK (strict IN (0, 1));
CREATE UNIQUE INDEX campaigns_by_submission ON campaigns (submission)
  WHERE submission IS NOT NULL;

CREATE TABLE campaign_inputs (
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  input_id INTEGER NOT NULL REFERENCES inputs (id),
  PRIMARY KEY (campaign_id, position)
);
