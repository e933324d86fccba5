-- Continuum's journal: runs, their histories, signal mailboxes, activity
-- tasks and stored activity results.
--
-- Payloads and events are stored as the exact JSON text the engine wrote
-- (`text`, not `jsonb`): replay compares payloads byte for byte, and jsonb
-- would reorder keys and renormalise numbers.

-- Fencing tokens for run and task leases. One sequence for both, so a token
-- is never reused anywhere.
CREATE SEQUENCE continuum_lease_token;

CREATE TABLE continuum_runs (
    id                uuid        PRIMARY KEY,
    namespace         text        NOT NULL DEFAULT 'default',
    workflow_id       text        NOT NULL,
    workflow          text        NOT NULL,
    version           bytea       NOT NULL,
    status            text        NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    started_at        timestamptz NOT NULL,
    last_seq          bigint      NOT NULL,
    lease_token       bigint      NOT NULL,
    search_attributes jsonb       NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (namespace, workflow_id)
);

CREATE INDEX continuum_runs_running ON continuum_runs (started_at, id) WHERE status = 'running';

CREATE TABLE continuum_events (
    run_id uuid        NOT NULL REFERENCES continuum_runs (id) ON DELETE CASCADE,
    seq    bigint      NOT NULL,
    at     timestamptz NOT NULL,
    event  text        NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE continuum_signals (
    id      bigserial   PRIMARY KEY,
    run_id  uuid        NOT NULL REFERENCES continuum_runs (id) ON DELETE CASCADE,
    name    text        NOT NULL,
    payload text        NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX continuum_signals_run ON continuum_signals (run_id, id);

CREATE TABLE continuum_tasks (
    run_id          uuid        NOT NULL REFERENCES continuum_runs (id) ON DELETE CASCADE,
    seq             bigint      NOT NULL,
    activity        text        NOT NULL,
    input           text        NOT NULL,
    retry           text        NOT NULL,
    timeout_ms      bigint,
    idempotency_key text,
    attempts        integer     NOT NULL DEFAULT 0,
    state           text        NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'leased', 'finished')),
    due             timestamptz NOT NULL,
    lease_token     bigint,
    lease_until     timestamptz,
    result          text,
    PRIMARY KEY (run_id, seq)
);

-- What a claim scans: ready tasks by due time, leased tasks by expiry.
CREATE INDEX continuum_tasks_ready ON continuum_tasks (due) WHERE state = 'ready';
CREATE INDEX continuum_tasks_leased ON continuum_tasks (lease_until) WHERE state = 'leased';

-- Results of activities called with an idempotency key: a later task with
-- the same activity and key reuses the result instead of running again.
CREATE TABLE continuum_activity_results (
    activity        text        NOT NULL,
    idempotency_key text        NOT NULL,
    output          text        NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (activity, idempotency_key)
);
