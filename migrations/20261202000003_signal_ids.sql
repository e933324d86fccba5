-- Signal delivery ids: a sender may attach an id to a signal; the id is
-- delivered at most once per continue-as-new chain (keyed by the chain's
-- first run). A duplicate send is acknowledged and dropped.
CREATE TABLE continuum_signal_ids (
    chain_root  uuid        NOT NULL,
    delivery_id text        NOT NULL,
    run_id      uuid        NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_root, delivery_id)
);
