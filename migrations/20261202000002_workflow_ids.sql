-- Workflow ids that may be used again.
--
-- A workflow id now names the latest chain of runs started with it, in
-- continuum_workflow_ids: while that chain has not ended the id is taken;
-- once it has, a new start takes the id over if its reuse policy accepts
-- how the chain ended ('allow_after_end', 'allow_after_failure', 'never').
-- Runs keep their workflow id and learn their chain's first run
-- (chain_root), by which an ending run closes its chain's id.
--
-- Processes register which version of each workflow is current (new runs
-- start on it), so a process that does not host a workflow can start it by
-- name on the right version.
--
-- The group commit is revised for this; the earlier overloads are dropped
-- (a process of an earlier release must be stopped before this migration
-- runs: its commits would fail rather than bypass the id rules).

ALTER TABLE continuum_workflow_versions ADD COLUMN current boolean NOT NULL DEFAULT false;

ALTER TABLE continuum_runs ADD COLUMN chain_root uuid;
WITH RECURSIVE chain AS (
    SELECT id, id AS root FROM continuum_runs WHERE continued_from IS NULL
    UNION ALL
    SELECT r.id, c.root FROM continuum_runs r JOIN chain c ON r.continued_from = c.id
)
UPDATE continuum_runs r SET chain_root = chain.root FROM chain WHERE r.id = chain.id;
UPDATE continuum_runs SET chain_root = id WHERE chain_root IS NULL;
ALTER TABLE continuum_runs ALTER COLUMN chain_root SET NOT NULL;

CREATE TABLE continuum_workflow_ids (
    namespace   text    NOT NULL,
    workflow_id text    NOT NULL,
    -- The first run of the chain that holds the id.
    root_id     uuid    NOT NULL,
    -- Whether that chain has not ended.
    open        boolean NOT NULL,
    -- How it ended, once it has.
    last_status text,
    -- The reuse policy it was started with.
    reuse       text    NOT NULL DEFAULT 'allow_after_end',
    PRIMARY KEY (namespace, workflow_id)
);
CREATE INDEX continuum_workflow_ids_root ON continuum_workflow_ids (root_id);

-- Today's chain roots hold their ids; a chain is open while its tip runs.
INSERT INTO continuum_workflow_ids (namespace, workflow_id, root_id, open, last_status, reuse)
SELECT r.namespace, r.workflow_id, r.id, tip.status = 'running',
       CASE WHEN tip.status = 'running' THEN NULL ELSE tip.status END, 'never'
FROM continuum_runs r
JOIN LATERAL (
    SELECT t.status FROM continuum_runs t
    WHERE t.chain_root = r.id AND t.status <> 'continued'
    ORDER BY t.started_at DESC LIMIT 1
) tip ON true
WHERE r.continued_from IS NULL;

DROP INDEX continuum_runs_workflow_id;
CREATE INDEX continuum_runs_workflow_id ON continuum_runs (namespace, workflow_id, started_at);
CREATE INDEX continuum_runs_chain_root ON continuum_runs (chain_root);

DROP FUNCTION continuum_commit(
    uuid[], bigint[], bigint[], bigint[], text[], text[], text[], bytea[], timestamptz[],
    uuid[], bigint[], integer[], uuid[], uuid[], bigint[], timestamptz[], text[], uuid[], bigint[],
    uuid[], bigint[], uuid[], bigint[], text[], text[], text[], bigint[], text[], float8[],
    uuid[], text[], text[], text[], uuid[], bigint[], uuid[], bigint[], uuid[], text[], float8);
DROP FUNCTION continuum_commit(
    uuid[], bigint[], bigint[], bigint[], text[], text[], text[], bytea[], timestamptz[],
    uuid[], bigint[], integer[], uuid[], uuid[], bigint[], timestamptz[], text[], uuid[], bigint[],
    uuid[], bigint[], uuid[], bigint[], text[], text[], text[], bigint[], text[], float8[],
    uuid[], bigint[], uuid[], bigint[], uuid[], text[], float8);

-- The group commit: as in 20261202000001_commit_successor_ids.sql (whose
-- header and 20261130000002_group_commit.sql's describe the arguments and
-- the rows returned), with w_reuse (each new chain's reuse policy) and
-- w_chain_root (a successor's chain, when its predecessor is created in
-- the same commit) and the workflow ids above.
CREATE FUNCTION continuum_commit(
    w_run uuid[], w_token bigint[], w_first bigint[], w_last bigint[], w_status text[],
    w_wid text[], w_workflow text[], w_version bytea[], w_started timestamptz[],
    w_parent uuid[], w_parent_seq bigint[], w_depth integer[], w_from uuid[],
    w_reuse text[], w_chain_root uuid[],
    e_run uuid[], e_seq bigint[], e_at timestamptz[], e_event text[],
    c_run uuid[], c_signal bigint[],
    r_run uuid[], r_seq bigint[],
    t_run uuid[], t_seq bigint[], t_activity text[], t_input text[], t_retry text[],
    t_timeout bigint[], t_key text[], t_lease float8[],
    rc_run uuid[], rc_seq bigint[],
    cr_parent uuid[], cr_seq bigint[], cr_child uuid[], cr_outcome text[],
    run_lease float8)
RETURNS TABLE (o_kind text, o_run uuid, o_seq bigint, o_token bigint, o_detail text)
LANGUAGE plpgsql
-- Every statement touches rows by key. Plans are cached per session, and a
-- plan made while the tables were small would keep scanning them whole as
-- they grow: pin the plans to index lookups.
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    bad uuid[];
    orphans uuid[];
    duplicates uuid[];
    claimed_ids uuid[];
    created_ids uuid[];
    created_tokens bigint[];
BEGIN
    WITH locked AS MATERIALIZED (
        SELECT c.id, c.lease_token, c.status, c.last_seq FROM continuum_runs c
        WHERE c.id = ANY(w_run) ORDER BY c.id FOR UPDATE)
    SELECT coalesce(array_agg(w.run), '{}') INTO bad
    FROM unnest(w_run, w_token, w_first, w_wid) AS w(run, token, first, wid)
    LEFT JOIN locked c ON c.id = w.run
    WHERE w.wid IS NULL
      AND (c.id IS NULL OR c.lease_token <> w.token OR c.status <> 'running'
           OR (w.first IS NOT NULL AND w.first <> c.last_seq + 1));
    IF cardinality(bad) > 0 THEN
        RETURN QUERY
        SELECT CASE WHEN c.id IS NULL THEN 'missing'
                    WHEN c.lease_token <> w.token THEN 'fenced'
                    WHEN c.status <> 'running' THEN 'terminal'
                    ELSE 'seq' END,
               w.run, c.last_seq, c.lease_token, c.status
        FROM unnest(w_run, w_token, w_wid) AS w(run, token, wid)
        LEFT JOIN continuum_runs c ON c.id = w.run
        WHERE w.wid IS NULL AND w.run = ANY(bad);
    END IF;

    IF array_position(w_first, 1) IS NOT NULL AND EXISTS (
        SELECT 1 FROM unnest(w_wid) AS w(wid) WHERE w.wid IS NOT NULL) THEN
        -- A new chain claims its workflow id: free, or held by a chain that
        -- has ended in a way the start's reuse policy accepts. (A child is
        -- a chain of its own, under its run id; a successor claims nothing.)
        WITH claimed AS (
            INSERT INTO continuum_workflow_ids AS i (namespace, workflow_id, root_id, open, last_status, reuse)
            SELECT 'default', w.wid, w.run, true, NULL, w.reuse
            FROM unnest(w_run, w_wid, w_from, w_reuse) AS w(run, wid, from_run, reuse)
            WHERE w.wid IS NOT NULL AND w.from_run IS NULL AND NOT (w.run = ANY(bad))
            ORDER BY w.wid
            ON CONFLICT (namespace, workflow_id) DO UPDATE
            SET root_id = excluded.root_id, open = true, last_status = NULL, reuse = excluded.reuse
            WHERE NOT i.open
              AND (excluded.reuse = 'allow_after_end'
                   OR (excluded.reuse = 'allow_after_failure' AND i.last_status IN ('failed', 'cancelled')))
            RETURNING i.root_id)
        SELECT coalesce(array_agg(claimed.root_id), '{}') INTO claimed_ids FROM claimed;
        duplicates := ARRAY(
            SELECT w.run FROM unnest(w_run, w_wid, w_from) AS w(run, wid, from_run)
            WHERE w.wid IS NOT NULL AND w.from_run IS NULL AND NOT (w.run = ANY(claimed_ids)));
        bad := bad || duplicates;
        -- A run created by a write that is refused (a child its parent's
        -- refused write starts, the successor of a refused write) is not
        -- created either, nor anything it creates in turn; an id such a
        -- child claimed is given back.
        LOOP
            orphans := ARRAY(
                SELECT w.run FROM unnest(w_run, w_wid, w_parent, w_from) AS w(run, wid, parent, from_run)
                WHERE w.wid IS NOT NULL AND NOT (w.run = ANY(bad))
                  AND (w.parent = ANY(bad) OR w.from_run = ANY(bad)));
            EXIT WHEN cardinality(orphans) = 0;
            bad := bad || orphans;
        END LOOP;
        DELETE FROM continuum_workflow_ids
        WHERE namespace = 'default' AND root_id = ANY(claimed_ids) AND root_id = ANY(bad);
        WITH ins AS (
            INSERT INTO continuum_runs
                (id, workflow_id, workflow, version, started_at, last_seq, status, lease_token, lease_until,
                 parent_id, parent_seq, depth, continued_from, chain_root, namespace, search_attributes)
            SELECT w.run, w.wid,
                   w.wf, w.ver, w.started, w.last, w.status,
                   nextval('continuum_lease_token'), now() + make_interval(secs => run_lease),
                   w.parent, w.parent_seq, w.depth, w.from_run,
                   CASE WHEN w.from_run IS NULL THEN w.run ELSE coalesce(w.chain_root, src.chain_root, w.run) END,
                   coalesce(src.namespace, 'default'), coalesce(src.search_attributes, '{}'::jsonb)
            FROM unnest(w_run, w_wid, w_workflow, w_version, w_started, w_last, w_status,
                        w_parent, w_parent_seq, w_depth, w_from, w_chain_root)
                 AS w(run, wid, wf, ver, started, last, status, parent, parent_seq, depth, from_run, chain_root)
            LEFT JOIN continuum_runs src ON src.id = coalesce(w.from_run, w.parent)
            WHERE w.wid IS NOT NULL AND NOT (w.run = ANY(bad))
            ORDER BY w.run
            RETURNING id, lease_token)
        SELECT coalesce(array_agg(ins.id), '{}'), coalesce(array_agg(ins.lease_token), '{}')
        INTO created_ids, created_tokens FROM ins;
        RETURN QUERY
        SELECT 'created', u.id, NULL::bigint, u.token, NULL::text
        FROM unnest(created_ids, created_tokens) AS u(id, token);
        RETURN QUERY
        SELECT 'duplicate', w.run, NULL::bigint, NULL::bigint, i.root_id::text
        FROM unnest(w_run, w_wid) AS w(run, wid)
        LEFT JOIN continuum_workflow_ids i ON i.namespace = 'default' AND i.workflow_id = w.wid
        WHERE w.run = ANY(duplicates);
        RETURN QUERY
        SELECT 'orphan', w.run, NULL::bigint, NULL::bigint, NULL::text
        FROM unnest(w_run, w_wid) AS w(run, wid)
        WHERE w.wid IS NOT NULL AND w.run = ANY(bad) AND NOT (w.run = ANY(duplicates));
    END IF;

    -- Each statement below runs only when it has rows to write.
    IF cardinality(e_run) > 0 THEN
        INSERT INTO continuum_events (run_id, seq, at, event)
        SELECT e.run, e.seq, e.at, e.ev
        FROM unnest(e_run, e_seq, e_at, e_event) AS e(run, seq, at, ev)
        WHERE NOT (e.run = ANY(bad));

        UPDATE continuum_runs c SET last_seq = w.last, status = w.status
        FROM unnest(w_run, w_last, w_status, w_wid) AS w(run, last, status, wid)
        WHERE c.id = w.run AND w.wid IS NULL AND w.last IS NOT NULL AND NOT (w.run = ANY(bad));
    END IF;

    -- A chain that ended (not by continuing) lets go of its workflow id:
    -- a later start may take it over, as its reuse policy allows.
    IF EXISTS (SELECT 1 FROM unnest(w_status) AS s(status) WHERE s.status NOT IN ('running', 'continued')) THEN
        UPDATE continuum_workflow_ids i SET open = false, last_status = w.status
        FROM unnest(w_run, w_status) AS w(run, status)
        JOIN continuum_runs r ON r.id = w.run
        WHERE i.namespace = r.namespace AND i.workflow_id = r.workflow_id AND i.root_id = r.chain_root
          AND w.status NOT IN ('running', 'continued') AND NOT (w.run = ANY(bad));
    END IF;

    IF cardinality(c_run) > 0 THEN
        DELETE FROM continuum_signals s
        USING unnest(c_run, c_signal) AS c(run, id)
        WHERE s.id = c.id AND NOT (c.run = ANY(bad));
    END IF;

    -- A run that continued hands its undelivered signals and its running
    -- children to its successor.
    -- Repeated until nothing moves: a run may continue several times in
    -- one commit (each successor continuing in its first step), and what
    -- the first hands on must reach the last.
    IF 'continued' = ANY(w_status) THEN
        LOOP
            UPDATE continuum_signals s SET run_id = n.id
            FROM continuum_runs n
            WHERE n.continued_from = s.run_id
              AND s.run_id IN (SELECT w.run FROM unnest(w_run, w_status) AS w(run, status)
                               WHERE w.status = 'continued' AND NOT (w.run = ANY(bad)));
            EXIT WHEN NOT FOUND;
        END LOOP;
        LOOP
            UPDATE continuum_runs c SET parent_id = n.id
            FROM continuum_runs n
            WHERE n.continued_from = c.parent_id AND c.status = 'running'
              AND c.parent_id IN (SELECT w.run FROM unnest(w_run, w_status) AS w(run, status)
                                  WHERE w.status = 'continued' AND NOT (w.run = ANY(bad)));
            EXIT WHEN NOT FOUND;
        END LOOP;
    END IF;

    -- Outstanding work of a run that ended is dropped: a late completion
    -- finds no task and is discarded; its mailbox and its children's
    -- outcomes go with it (a run that continued hands its mailbox on
    -- first).
    IF 'running' <> ANY(w_status) THEN
        DELETE FROM continuum_tasks t
        USING unnest(w_run, w_status) AS w(run, status)
        WHERE t.run_id = w.run AND w.status <> 'running' AND NOT (w.run = ANY(bad));
        DELETE FROM continuum_signals s
        USING unnest(w_run, w_status) AS w(run, status)
        WHERE s.run_id = w.run AND w.status NOT IN ('running', 'continued') AND NOT (w.run = ANY(bad));
        DELETE FROM continuum_child_outcomes o
        USING unnest(w_run, w_status) AS w(run, status)
        WHERE o.parent_id = w.run AND w.status <> 'running' AND NOT (w.run = ANY(bad));
    END IF;

    IF cardinality(rc_run) > 0 THEN
        DELETE FROM continuum_child_outcomes o
        USING unnest(rc_run, rc_seq) AS r(run, seq)
        WHERE o.parent_id = r.run AND o.parent_seq = r.seq AND NOT (r.run = ANY(bad));
    END IF;

    -- A child's end waits for its parent (unless the parent has ended),
    -- and the parent's process is told.
    IF cardinality(cr_parent) > 0 THEN
        INSERT INTO continuum_child_outcomes (parent_id, parent_seq, child_id, outcome)
        SELECT c.parent, c.seq, c.child, c.outcome
        FROM unnest(cr_parent, cr_seq, cr_child, cr_outcome) AS c(parent, seq, child, outcome)
        JOIN continuum_runs p ON p.id = c.parent AND p.status = 'running'
        WHERE NOT (c.child = ANY(bad))
        ON CONFLICT DO NOTHING;
        PERFORM pg_notify('continuum_runs', c.parent::text)
        FROM unnest(cr_parent, cr_child) AS c(parent, child)
        WHERE NOT (c.child = ANY(bad));
    END IF;

    IF cardinality(r_run) > 0 THEN
        DELETE FROM continuum_tasks t
        USING unnest(r_run, r_seq) AS r(run, seq)
        WHERE t.run_id = r.run AND t.seq = r.seq AND NOT (r.run = ANY(bad));
    END IF;

    IF cardinality(t_run) = 0 THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH ins AS (
        INSERT INTO continuum_tasks
            (run_id, seq, activity, input, retry, timeout_ms, idempotency_key, due,
             attempts, state, lease_token, lease_until)
        SELECT t.run, t.seq, t.activity, t.input, t.retry, t.timeout, t.key, now(),
               CASE WHEN t.lease IS NULL THEN 0 ELSE 1 END,
               CASE WHEN t.lease IS NULL THEN 'ready' ELSE 'leased' END,
               CASE WHEN t.lease IS NULL THEN NULL ELSE nextval('continuum_lease_token') END,
               CASE WHEN t.lease IS NULL THEN NULL ELSE now() + make_interval(secs => t.lease) END
        FROM unnest(t_run, t_seq, t_activity, t_input, t_retry, t_timeout, t_key, t_lease)
             AS t(run, seq, activity, input, retry, timeout, key, lease)
        WHERE NOT (t.run = ANY(bad))
        RETURNING run_id, seq, lease_token)
    SELECT 'leased', ins.run_id, ins.seq, ins.lease_token, NULL::text
    FROM ins WHERE ins.lease_token IS NOT NULL;

    IF array_position(t_lease, NULL) IS NOT NULL AND EXISTS (
        SELECT 1 FROM unnest(t_run, t_lease) AS t(run, lease) WHERE t.lease IS NULL AND NOT (t.run = ANY(bad))) THEN
        PERFORM pg_notify('continuum_tasks', '');
    END IF;

END
$$;
