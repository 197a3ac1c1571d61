-- What graphene's history database computes from its tables (database.sql):
-- the triggers that keep the count tables up to date, and the statistics
-- views. The store drops every view and trigger and runs this file again
-- whenever the schema version changes (store/migration.h), so it always
-- describes the current version and migrations never repeat it.

-- The counts follow `executions`: each insert adds one execution to its
-- (target, input, campaign) row, which adds it to the (target, input) and
-- (target, campaign) rows; deletes (also by ON DELETE CASCADE) and updates
-- take it away again. Rows whose count falls to zero are removed, so a count
-- row exists exactly when the executions it counts do.

CREATE TRIGGER executions_counted AFTER INSERT ON executions BEGIN
  INSERT INTO campaign_input_counts
    (target_id, input_id, campaign_id, executions, escapes, last_run)
  VALUES (new.target_id, new.input_id, new.campaign_id, 1, new.escape_detected, new.finished_at)
  ON CONFLICT DO UPDATE SET executions = executions + 1, escapes = escapes + excluded.escapes,
    last_run = max(last_run, excluded.last_run);
END;

CREATE TRIGGER executions_uncounted AFTER DELETE ON executions BEGIN
  UPDATE campaign_input_counts
  SET executions = executions - 1, escapes = escapes - old.escape_detected
  WHERE target_id = old.target_id AND input_id = old.input_id AND campaign_id = old.campaign_id;
  DELETE FROM campaign_input_counts
  WHERE target_id = old.target_id AND input_id = old.input_id AND campaign_id = old.campaign_id
    AND executions = 0;
END;

-- An edited execution (with the sqlite3 shell, say) moves from its old
-- counts to its new ones.
CREATE TRIGGER executions_recounted
AFTER UPDATE OF campaign_id, target_id, input_id, escape_detected, finished_at ON executions
BEGIN
  UPDATE campaign_input_counts
  SET executions = executions - 1, escapes = escapes - old.escape_detected
  WHERE target_id = old.target_id AND input_id = old.input_id AND campaign_id = old.campaign_id;
  DELETE FROM campaign_input_counts
  WHERE target_id = old.target_id AND input_id = old.input_id AND campaign_id = old.campaign_id
    AND executions = 0;
  INSERT INTO campaign_input_counts
    (target_id, input_id, campaign_id, executions, escapes, last_run)
  VALUES (new.target_id, new.input_id, new.campaign_id, 1, new.escape_detected, new.finished_at)
  ON CONFLICT DO UPDATE SET executions = executions + 1, escapes = escapes + excluded.escapes,
    last_run = max(last_run, excluded.last_run);
END;

CREATE TRIGGER campaign_input_counts_added AFTER INSERT ON campaign_input_counts BEGIN
  INSERT INTO input_counts (target_id, input_id, campaigns, executions, escapes, last_run)
  VALUES (new.target_id, new.input_id, 1, new.executions, new.escapes, new.last_run)
  ON CONFLICT DO UPDATE SET campaigns = campaigns + 1,
    executions = executions + excluded.executions, escapes = escapes + excluded.escapes,
    last_run = max(last_run, excluded.last_run);
  INSERT INTO campaign_target_counts
    (target_id, campaign_id, inputs, escaping_inputs, executions, escapes, last_run)
  VALUES (new.target_id, new.campaign_id, 1, new.escapes > 0, new.executions, new.escapes,
          new.last_run)
  ON CONFLICT DO UPDATE SET inputs = inputs + 1,
    escaping_inputs = escaping_inputs + excluded.escaping_inputs,
    executions = executions + excluded.executions, escapes = escapes + excluded.escapes,
    last_run = max(last_run, excluded.last_run);
END;

CREATE TRIGGER campaign_input_counts_changed
AFTER UPDATE OF executions, escapes, last_run ON campaign_input_counts BEGIN
  UPDATE input_counts
  SET executions = executions + new.executions - old.executions,
    escapes = escapes + new.escapes - old.escapes, last_run = max(last_run, new.last_run)
  WHERE target_id = new.target_id AND input_id = new.input_id;
  UPDATE campaign_target_counts
  SET escaping_inputs = escaping_inputs + (new.escapes > 0) - (old.escapes > 0),
    executions = executions + new.executions - old.executions,
    escapes = escapes + new.escapes - old.escapes, last_run = max(last_run, new.last_run)
  WHERE target_id = new.target_id AND campaign_id = new.campaign_id;
END;

CREATE TRIGGER campaign_input_counts_removed AFTER DELETE ON campaign_input_counts BEGIN
  UPDATE input_counts
  SET campaigns = campaigns - 1, executions = executions - old.executions,
    escapes = escapes - old.escapes
  WHERE target_id = old.target_id AND input_id = old.input_id;
  DELETE FROM input_counts
  WHERE target_id = old.target_id AND input_id = old.input_id AND campaigns = 0;
  UPDATE campaign_target_counts
  SET inputs = inputs - 1, escaping_inputs = escaping_inputs - (old.escapes > 0),
    executions = executions - old.executions, escapes = escapes - old.escapes
  WHERE target_id = old.target_id AND campaign_id = old.campaign_id;
  DELETE FROM campaign_target_counts
  WHERE target_id = old.target_id AND campaign_id = old.campaign_id AND inputs = 0;
END;

-- The statistics views, for people at the sqlite3 shell as much as for
-- graphene. escape_rate is escapes / executions, and
-- [wilson_low, wilson_high] its 95% Wilson score interval
-- (z = 1.959963984540054, z^2 = 3.841458820694124):
--   (p + z^2/2n -/+ z * sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
-- sqrt() is built into the sqlite3 shell since 3.35; the store registers its
-- own for builds of the library without math functions.

-- Per (target, input) across all campaigns. flaky = 1 when the input's
-- executions disagree (some escaped and some did not).
CREATE VIEW input_stats AS
SELECT target_id, target, input_id, input, campaigns, executions, escapes, escape_rate,
  max(0.0, (escape_rate + 1.920729410347062 / executions
            - 1.959963984540054 * sqrt(escape_rate * (1 - escape_rate) / executions
                                       + 0.960364705173531 / (executions * executions)))
           / (1 + 3.841458820694124 / executions)) AS wilson_low,
  min(1.0, (escape_rate + 1.920729410347062 / executions
            + 1.959963984540054 * sqrt(escape_rate * (1 - escape_rate) / executions
                                       + 0.960364705173531 / (executions * executions)))
           / (1 + 3.841458820694124 / executions)) AS wilson_high,
  escapes > 0 AND escapes < executions AS flaky,
  last_run
FROM (
  SELECT c.target_id, t.name AS target, c.input_id, i.value AS input, c.campaigns,
    c.executions, c.escapes, CAST(c.escapes AS REAL) / c.executions AS escape_rate, c.last_run
  FROM input_counts AS c
  JOIN targets AS t ON t.id = c.target_id
  JOIN inputs AS i ON i.id = c.input_id
);

-- Per target across all campaigns. inputs counts its distinct inputs,
-- escaping_inputs those with at least one escape, always_inputs those that
-- escaped every time and flaky_inputs those whose executions disagree. The
-- verdict is graphene's: SAFE without escapes; ESCAPE when every input
-- always escapes; INPUT-DEPENDENT when each input either always or never
-- escapes, and both kinds occur; FLAKY when some input's repeats disagree.
CREATE VIEW target_stats AS
SELECT target_id, target,
  CASE WHEN escapes = 0 THEN 'SAFE'
       WHEN flaky_inputs > 0 THEN 'FLAKY'
       WHEN always_inputs = inputs THEN 'ESCAPE'
       ELSE 'INPUT-DEPENDENT' END AS verdict,
  campaigns, inputs, escaping_inputs, always_inputs, flaky_inputs,
  executions, escapes, escape_rate,
  max(0.0, (escape_rate + 1.920729410347062 / executions
            - 1.959963984540054 * sqrt(escape_rate * (1 - escape_rate) / executions
                                       + 0.960364705173531 / (executions * executions)))
           / (1 + 3.841458820694124 / executions)) AS wilson_low,
  min(1.0, (escape_rate + 1.920729410347062 / executions
            + 1.959963984540054 * sqrt(escape_rate * (1 - escape_rate) / executions
                                       + 0.960364705173531 / (executions * executions)))
           / (1 + 3.841458820694124 / executions)) AS wilson_high,
  last_run
FROM (
  SELECT c.target_id, t.name AS target,
    (SELECT count(*) FROM campaign_target_counts AS k
     WHERE k.target_id = c.target_id) AS campaigns,
    count(*) AS inputs, sum(c.escapes > 0) AS escaping_inputs,
    sum(c.escapes = c.executions) AS always_inputs,
    sum(c.escapes > 0 AND c.escapes < c.executions) AS flaky_inputs,
    sum(c.executions) AS executions, sum(c.escapes) AS escapes,
    CAST(sum(c.escapes) AS REAL) / sum(c.executions) AS escape_rate, max(c.last_run) AS last_run
  FROM input_counts AS c
  JOIN targets AS t ON t.id = c.target_id
  GROUP BY c.target_id
);

-- Per (campaign, target): one row for each target a campaign has executions
-- of, with the campaign's start time so that a target's rate can be followed
-- over time, and what the target's docstring expected in that campaign
-- (NULL without an expectation).
CREATE VIEW campaign_target_stats AS
SELECT campaign_id, created_at, target_id, target, expected, inputs, escaping_inputs,
  executions, escapes, escape_rate,
  max(0.0, (escape_rate + 1.920729410347062 / executions
            - 1.959963984540054 * sqrt(escape_rate * (1 - escape_rate) / executions
                                       + 0.960364705173531 / (executions * executions)))
           / (1 + 3.841458820694124 / executions)) AS wilson_low,
  min(1.0, (escape_rate + 1.920729410347062 / executions
            + 1.959963984540054 * sqrt(escape_rate * (1 - escape_rate) / executions
                                       + 0.960364705173531 / (executions * executions)))
           / (1 + 3.841458820694124 / executions)) AS wilson_high,
  last_run
FROM (
  SELECT k.campaign_id, c.created_at, k.target_id, t.name AS target,
    (SELECT ct.expected FROM campaign_targets AS ct
     WHERE ct.campaign_id = k.campaign_id AND ct.target_id = k.target_id
     ORDER BY ct.position LIMIT 1) AS expected,
    k.inputs, k.escaping_inputs, k.executions, k.escapes,
    CAST(k.escapes AS REAL) / k.executions AS escape_rate, k.last_run
  FROM campaign_target_counts AS k
  JOIN campaigns AS c ON c.id = k.campaign_id
  JOIN targets AS t ON t.id = k.target_id
);

-- Per campaign: what ran, when, on which commit, and how much escaped.
-- targets counts those with executions; jobs is what the campaign planned.
CREATE VIEW campaign_stats AS
SELECT c.id AS campaign_id, c.created_at, c.finished_at, c.status, c.command, c.git_commit,
  c.seed, c.total_jobs AS jobs, count(k.target_id) AS targets,
  coalesce(sum(k.executions), 0) AS executions, coalesce(sum(k.escapes), 0) AS escapes,
  CAST(sum(k.escapes) AS REAL) / sum(k.executions) AS escape_rate
FROM campaigns AS c
LEFT JOIN campaign_target_counts AS k ON k.campaign_id = c.id
GROUP BY c.id;

-- Where escapes start: per target and `file:line`, what kind of leftover it
-- was, how many executions left one there, and in which campaigns it was
-- first and last seen. It reads the escapes themselves, so narrow it down
-- (WHERE target GLOB '...') on large histories.
CREATE VIEW escape_sites AS
SELECT e.target_id, t.name AS target, s.started_at, s.kind,
  count(DISTINCT s.execution_id) AS executions, min(e.campaign_id) AS first_campaign,
  max(e.campaign_id) AS last_campaign
FROM escapes AS s
JOIN executions AS e ON e.id = s.execution_id
JOIN targets AS t ON t.id = e.target_id
WHERE s.transient = 0
GROUP BY e.target_id, s.started_at, s.kind;
