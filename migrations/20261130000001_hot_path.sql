-- The hot path: every activity step inserts two events, updates its run
-- and replaces a task.
--
-- Events and tasks are written only by `continuum_commit`, which checks
-- the run under its row lock first; the foreign keys to continuum_runs
-- repeated that check once per inserted row (a trigger and a key-share
-- lock each), so they go. Removing a run's rows is a job for retention
-- tooling, which deletes events and tasks with their run.
ALTER TABLE continuum_events DROP CONSTRAINT continuum_events_run_id_fkey;
ALTER TABLE continuum_tasks DROP CONSTRAINT continuum_tasks_run_id_fkey;

-- A run's row is updated at every step (its last seq), a task's at every
-- claim and heartbeat. Room left in each page lets PostgreSQL update the
-- row in place (a HOT update) instead of inserting into every index.
ALTER TABLE continuum_runs SET (fillfactor = 50);
ALTER TABLE continuum_tasks SET (fillfactor = 70);

-- Child runs: the parent and its `child_started` seq, and the depth (for
-- the cancel cascade and the depth limit).
ALTER TABLE continuum_runs ADD COLUMN parent_id uuid;
ALTER TABLE continuum_runs ADD COLUMN parent_seq bigint;
ALTER TABLE continuum_runs ADD COLUMN depth integer NOT NULL DEFAULT 0;
CREATE INDEX continuum_runs_children ON continuum_runs (parent_id) WHERE status = 'running';

-- A child's end waits here until its parent journals it.
CREATE TABLE continuum_child_outcomes (
    parent_id  uuid        NOT NULL,
    parent_seq bigint      NOT NULL,
    child_id   uuid        NOT NULL,
    outcome    text        NOT NULL,
    ended_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (parent_id, parent_seq)
);

-- Runs that continue as new end as `continued`.
ALTER TABLE continuum_runs DROP CONSTRAINT continuum_runs_status_check;
ALTER TABLE continuum_runs ADD CONSTRAINT continuum_runs_status_check
    CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'continued'));

-- continue_as_new chains: a successor names the run it continues. The
-- chain shares one workflow id, unique among chain roots.
ALTER TABLE continuum_runs ADD COLUMN continued_from uuid;
CREATE INDEX continuum_runs_continued_from ON continuum_runs (continued_from) WHERE continued_from IS NOT NULL;
ALTER TABLE continuum_runs DROP CONSTRAINT continuum_runs_namespace_workflow_id_key;
CREATE UNIQUE INDEX continuum_runs_workflow_id ON continuum_runs (namespace, workflow_id) WHERE continued_from IS NULL;

-- Which process serves which workflow versions, renewed while it lives
-- (each registration says how long it stays valid): a process leaves a
-- run to one that has the version it started on, and the audit lists
-- runs no live process serves.
CREATE TABLE continuum_workflow_versions (
    workflow    text        NOT NULL,
    version     bytea       NOT NULL,
    process     uuid        NOT NULL,
    alive_until timestamptz NOT NULL,
    PRIMARY KEY (workflow, version, process)
);
