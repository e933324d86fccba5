//! Run leases: where a lease is taken (`acquire`), taken again by its
//! holder (`reacquire`), renewed, released for a while, and where runs
//! whose owner stopped renewing are reserved for adoption.
//!
//! A lease is the `lease_token` / `lease_until` pair on the run's row;
//! tokens come from the `continuum_lease_token` sequence, so a new one is
//! always larger than any before it — that is the fence `commit` checks.
//! This module only moves leases: it never writes history events, tasks
//! or signals, and never changes a run's status.

use std::time::Duration;

use continuum_core::error::JournalError;
use continuum_core::ids::RunId;
use std::sync::Arc;

use continuum_core::journal::{Lease, LoadedRun, Servable};
use sqlx::Row;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::listener::{ADOPT_HINT, RUNS_CHANNEL};
use crate::queries::missing_or_terminal;
use crate::rows::{self, backend, parse_status, secs, to_i64, to_u64};

/// A fresh token for a running run, whoever held it before.
pub(crate) async fn acquire(pool: &PgPool, run_lease: Duration, run: RunId) -> Result<Lease, JournalError> {
    let token: Option<i64> = sqlx::query_scalar(
        "UPDATE continuum_runs SET lease_token = nextval('continuum_lease_token'), \
         lease_until = now() + make_interval(secs => $2) \
         WHERE id = $1 AND status = 'running' RETURNING lease_token",
    )
    .bind(run.0)
    .bind(secs(run_lease))
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    match token {
        Some(t) => Ok(Lease { run, token: to_u64(t) }),
        None => Err(missing_or_terminal(pool, run).await),
    }
}

/// A fresh token for the holder of `lease` only; fenced if another took it.
pub(crate) async fn reacquire(pool: &PgPool, run_lease: Duration, lease: &Lease) -> Result<Lease, JournalError> {
    let token: Option<i64> = sqlx::query_scalar(
        "UPDATE continuum_runs SET lease_token = nextval('continuum_lease_token'), \
         lease_until = now() + make_interval(secs => $3) \
         WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING lease_token",
    )
    .bind(lease.run.0)
    .bind(to_i64(lease.token))
    .bind(secs(run_lease))
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    if let Some(t) = token {
        return Ok(Lease { run: lease.run, token: to_u64(t) });
    }
    let row: Option<(String, i64)> = sqlx::query_as("SELECT status, lease_token FROM continuum_runs WHERE id = $1")
        .bind(lease.run.0)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    let (status, current) = row.ok_or(JournalError::RunNotFound(lease.run))?;
    let status = parse_status(&status)?;
    if status.is_terminal() {
        return Err(JournalError::RunTerminal { run: lease.run, status });
    }
    Err(JournalError::Fenced { run: lease.run, presented: lease.token, current: to_u64(current) })
}

/// Extends the leases still held; returns the runs whose lease was lost
/// while they still run.
pub(crate) async fn renew(pool: &PgPool, run_lease: Duration, leases: &[Lease]) -> Result<Vec<RunId>, JournalError> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<&Lease> = leases.iter().collect();
    sorted.sort_by_key(|l| l.run.0);
    let ids: Vec<Uuid> = sorted.iter().map(|l| l.run.0).collect();
    let tokens: Vec<i64> = sorted.iter().map(|l| to_i64(l.token)).collect();
    // Rows are locked in id order (the sub-select's ORDER BY), so two
    // renewers never wait on each other in a cycle.
    let renewed: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE continuum_runs r SET lease_until = now() + make_interval(secs => $3) \
         WHERE r.id IN ( \
             SELECT c.id FROM continuum_runs c \
             JOIN unnest($1::uuid[], $2::bigint[]) AS u(id, token) ON c.id = u.id AND c.lease_token = u.token \
             WHERE c.status = 'running' ORDER BY c.id FOR UPDATE OF c) \
         RETURNING r.id",
    )
    .bind(&ids)
    .bind(&tokens)
    .bind(secs(run_lease))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let renewed: std::collections::BTreeSet<Uuid> = renewed.into_iter().collect();
    // A run that ended is not lost: its owner finished it.
    let missing: Vec<Uuid> = ids.iter().filter(|id| !renewed.contains(id)).copied().collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let lost: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM continuum_runs WHERE id = ANY($1) AND status = 'running'")
        .bind(&missing)
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    Ok(lost.into_iter().map(RunId).collect())
}

/// Reserves up to `max` running runs whose lease lapsed, among those the
/// caller can serve.
pub(crate) async fn claim_orphaned(
    pool: &PgPool,
    run_lease: Duration,
    max: usize,
    servable: &Servable,
) -> Result<Vec<RunId>, JournalError> {
    // Reserve them for a lease's length so two adopters do not both
    // replay the same run; the adopter then takes a fresh token with
    // `acquire_run`, which fences the dead owner for good. Only runs
    // the caller can serve: its exact versions, or its workflows'
    // runs whose version no live process registered.
    let (names, versions): (Vec<&str>, Vec<Vec<u8>>) =
        servable.exact.iter().map(|(n, v)| (n.as_str(), v.0.to_vec())).unzip();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE continuum_runs SET lease_until = now() + make_interval(secs => $2) \
         WHERE id IN ( \
             SELECT r.id FROM continuum_runs r \
             WHERE r.status = 'running' AND r.lease_until < now() \
               AND ((r.workflow, r.version) IN (SELECT * FROM unnest($3::text[], $4::bytea[])) \
                    OR (r.workflow = ANY($5) AND NOT EXISTS ( \
                        SELECT 1 FROM continuum_workflow_versions v \
                        WHERE v.workflow = r.workflow AND v.version = r.version \
                          AND v.process <> $6 AND v.alive_until > now()))) \
             ORDER BY r.id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id",
    )
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .bind(secs(run_lease))
    .bind(&names)
    .bind(&versions)
    .bind(&servable.names)
    .bind(servable.process)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(ids.into_iter().map(RunId).collect())
}

/// Lets the lease lapse in `backoff` instead of its full length, so
/// another process may adopt the run sooner.
pub(crate) async fn release(pool: &PgPool, lease: &Lease, backoff: Duration) -> Result<(), JournalError> {
    // Released for adoption now (a client's start, a process shutting
    // down): live processes are told to look for orphaned runs at once.
    sqlx::query(
        "WITH released AS ( \
             UPDATE continuum_runs SET lease_until = now() + make_interval(secs => $3) \
             WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id) \
         SELECT pg_notify($4, $5) FROM released WHERE $3 = 0",
    )
    .bind(lease.run.0)
    .bind(to_i64(lease.token))
    .bind(secs(backoff))
    .bind(RUNS_CHANNEL)
    .bind(ADOPT_HINT)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(())
}

/// [`release`] for many runs in one statement.
pub(crate) async fn release_many(pool: &PgPool, leases: &[Lease], backoff: Duration) -> Result<(), JournalError> {
    if leases.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<(Uuid, i64)> = leases.iter().map(|l| (l.run.0, to_i64(l.token))).collect();
    sorted.sort_unstable();
    let (runs, tokens): (Vec<Uuid>, Vec<i64>) = sorted.into_iter().unzip();
    // Rows are locked in id order, so two releasers never deadlock; one
    // adoption hint however many runs were let go.
    sqlx::query(
        "WITH released AS ( \
             UPDATE continuum_runs r SET lease_until = now() + make_interval(secs => $3) \
             FROM unnest($1::uuid[], $2::bigint[]) AS u(id, token) \
             WHERE r.id = u.id AND r.lease_token = u.token AND r.status = 'running' RETURNING r.id) \
         SELECT pg_notify($4, $5) FROM (SELECT 1 FROM released LIMIT 1) AS any_released WHERE $3 = 0",
    )
    .bind(&runs)
    .bind(&tokens)
    .bind(secs(backoff))
    .bind(RUNS_CHANNEL)
    .bind(ADOPT_HINT)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Takes over many runs and reads their rows and histories: one statement
/// for the leases (rows locked in id order) and one for the events.
pub(crate) async fn load_many(
    pool: &PgPool,
    run_lease: Duration,
    runs: &[RunId],
) -> Result<Vec<LoadedRun>, JournalError> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = runs.iter().map(|r| r.0).collect();
    let rows = sqlx::query(
        "UPDATE continuum_runs r SET lease_token = nextval('continuum_lease_token'), \
                lease_until = now() + make_interval(secs => $2) \
         WHERE r.id IN (SELECT id FROM continuum_runs WHERE id = ANY($1) AND status = 'running' \
                        ORDER BY id FOR UPDATE) \
         RETURNING r.id, r.lease_token, r.workflow_id, r.workflow, r.version, r.status, r.started_at, \
                   r.last_seq, r.parent_id, r.parent_seq, r.depth",
    )
    .bind(&ids)
    .bind(secs(run_lease))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let mut taken = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: Uuid = row.try_get("id").map_err(backend)?;
        let token: i64 = row.try_get("lease_token").map_err(backend)?;
        let run = RunId(id);
        taken.push((rows::run_info(run, row)?, Lease { run, token: to_u64(token) }));
    }
    let taken_ids: Vec<Uuid> = taken.iter().map(|(i, _)| i.id.0).collect();
    let mut histories = crate::queries::histories(pool, &taken_ids).await?;
    Ok(taken
        .into_iter()
        .map(|(info, lease)| {
            let history = histories.remove(&info.id).unwrap_or_else(|| Ok(Arc::from(Vec::new())));
            LoadedRun { info, lease, history }
        })
        .collect())
}
