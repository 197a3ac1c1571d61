-- Schema version 2 -> 3: count tables the history queries read instead of
-- aggregating executions. schema/database.sql describes the result (the
-- tables are commented there); this step must leave a version 2 database
-- exactly as that file creates one. The triggers that keep the counts, and
-- the views rewritten over them, come from database_derived.sql, which the
-- store runs after this step in the same transaction (store/migration.h).

CREATE INDEX campaigns_by_created_at ON campaigns (created_at);
-- No query looks executions up by input alone.
DROP INDEX executions_by_input;

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

-- The counts of the executions already stored, in three passes over them
-- (the triggers do not exist yet, so nothing is counted twice).
INSERT INTO campaign_input_counts
  (target_id, input_id, campaign_id, executions, escapes, last_run)
SELECT target_id, input_id, campaign_id, count(*), sum(escape_detected), max(finished_at)
FROM executions GROUP BY target_id, input_id, campaign_id;

INSERT INTO input_counts (target_id, input_id, campaigns, executions, escapes, last_run)
SELECT target_id, input_id, count(*), sum(executions), sum(escapes), max(last_run)
FROM campaign_input_counts GROUP BY target_id, input_id;

INSERT INTO campaign_target_counts
  (target_id, campaign_id, inputs, escaping_inputs, executions, escapes, last_run)
SELECT target_id, campaign_id, count(*), sum(escapes > 0), sum(executions), sum(escapes),
  max(last_run)
FROM campaign_input_counts GROUP BY target_id, campaign_id;
