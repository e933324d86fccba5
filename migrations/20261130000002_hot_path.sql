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
