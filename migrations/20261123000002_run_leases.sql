-- Run leases expire: the owning process renews `lease_until`
-- periodically, and a run whose owner stopped renewing (its process died)
-- is adopted by another process. The fencing token stays the authority
-- for writes; the expiry only says when a run may be adopted.
ALTER TABLE continuum_runs ADD COLUMN lease_until timestamptz NOT NULL DEFAULT now();

CREATE INDEX continuum_runs_lease ON continuum_runs (lease_until) WHERE status = 'running';
