//! Reading runs and histories: a run's row, a workflow id's run, a
//! history, the running runs, a continue-as-new chain's tip, a run's
//! running children, many runs' statuses.
//!
//! Also what explains a write that touched no row (`missing_or_terminal`).
//! Read-only: plain `SELECT`s outside any transaction, never a lock, so a
//! query never blocks a writer and is never fenced; nothing here writes.

use std::collections::HashMap;
use std::sync::Arc;

use continuum_core::error::JournalError;
use continuum_core::event::HistoryEvent;
use continuum_core::ids::RunId;
use continuum_core::journal::{RunInfo, RunStatus};
use sqlx::Row;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::rows::{self, backend, parse_status, to_u64};

/// The run's row, or [`JournalError::RunNotFound`].
pub(crate) async fn run_info(pool: &PgPool, run: RunId) -> Result<RunInfo, JournalError> {
    let row = sqlx::query(
        "SELECT workflow_id, workflow, version, status, started_at, last_seq, parent_id, parent_seq, depth \
         FROM continuum_runs WHERE id = $1",
    )
    .bind(run.0)
    .fetch_optional(pool)
    .await
    .map_err(backend)?
    .ok_or(JournalError::RunNotFound(run))?;
    rows::run_info(run, &row)
}

/// Why a write guarded by `status = 'running'` touched no row: the run is
/// missing or has ended.
pub(crate) async fn missing_or_terminal(pool: &PgPool, run: RunId) -> JournalError {
    match run_info(pool, run).await {
        Ok(info) if info.status.is_terminal() => JournalError::RunTerminal { run, status: info.status },
        Ok(_) => JournalError::Backend(format!("run {run} changed while being written")),
        Err(e) => e,
    }
}

pub(crate) async fn find_workflow_id(pool: &PgPool, workflow_id: &str) -> Result<Option<RunInfo>, JournalError> {
    if workflow_id.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT r.id, r.workflow_id, r.workflow, r.version, r.status, r.started_at, r.last_seq, r.parent_id, \
                r.parent_seq, r.depth \
         FROM continuum_workflow_ids i JOIN continuum_runs r ON r.id = i.root_id \
         WHERE i.namespace = 'default' AND i.workflow_id = $1",
    )
    .bind(workflow_id)
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    match row {
        Some(row) => {
            let id = RunId(row.try_get::<Uuid, _>("id").map_err(backend)?);
            Ok(Some(rows::run_info(id, &row)?))
        }
        None => Ok(None),
    }
}

pub(crate) async fn history(pool: &PgPool, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, event FROM continuum_events WHERE run_id = $1 ORDER BY seq")
            .bind(run.0)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
    if rows.is_empty() {
        // Distinguish "no such run" from an empty history (which a
        // created run never has).
        run_info(pool, run).await?;
    }
    let events = rows
        .into_iter()
        .map(|(seq, text)| {
            serde_json::from_str::<HistoryEvent>(&text).map_err(|e| JournalError::CorruptEvent {
                run,
                seq: to_u64(seq),
                detail: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::from(events))
}

/// The histories of many runs in one query; a run whose events do not
/// all decode gets `CorruptEvent` naming the first that does not.
pub(crate) async fn histories(
    pool: &PgPool,
    runs: &[Uuid],
) -> Result<HashMap<RunId, Result<Arc<[HistoryEvent]>, JournalError>>, JournalError> {
    let rows: Vec<(Uuid, i64, String)> =
        sqlx::query_as("SELECT run_id, seq, event FROM continuum_events WHERE run_id = ANY($1) ORDER BY run_id, seq")
            .bind(runs)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
    let mut events: HashMap<RunId, Result<Vec<HistoryEvent>, JournalError>> = HashMap::new();
    for (id, seq, text) in rows {
        let run = RunId(id);
        let entry = events.entry(run).or_insert_with(|| Ok(Vec::new()));
        if let Ok(list) = entry {
            match serde_json::from_str::<HistoryEvent>(&text) {
                Ok(event) => list.push(event),
                Err(e) => *entry = Err(JournalError::CorruptEvent { run, seq: to_u64(seq), detail: e.to_string() }),
            }
        }
    }
    Ok(events.into_iter().map(|(run, r)| (run, r.map(Arc::from))).collect())
}

pub(crate) async fn active_runs(pool: &PgPool) -> Result<Vec<RunId>, JournalError> {
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM continuum_runs WHERE status = 'running' ORDER BY started_at, id")
            .fetch_all(pool)
            .await
            .map_err(backend)?;
    Ok(ids.into_iter().map(RunId).collect())
}

pub(crate) async fn chain_tip(pool: &PgPool, run: RunId) -> Result<RunId, JournalError> {
    let tip: Option<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE chain (id, n) AS ( \
             SELECT id, 0 FROM continuum_runs WHERE id = $1 \
             UNION ALL \
             SELECT r.id, c.n + 1 FROM continuum_runs r JOIN chain c ON r.continued_from = c.id) \
         SELECT id FROM chain ORDER BY n DESC LIMIT 1",
    )
    .bind(run.0)
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    tip.map(RunId).ok_or(JournalError::RunNotFound(run))
}

pub(crate) async fn running_children(pool: &PgPool, run: RunId) -> Result<Vec<RunId>, JournalError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM continuum_runs WHERE parent_id = $1 AND status = 'running' ORDER BY started_at, id",
    )
    .bind(run.0)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(ids.into_iter().map(RunId).collect())
}

pub(crate) async fn run_statuses(pool: &PgPool, runs: &[RunId]) -> Result<Vec<(RunId, RunStatus)>, JournalError> {
    let ids: Vec<Uuid> = runs.iter().map(|r| r.0).collect();
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM continuum_runs WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.into_iter().map(|(id, status)| Ok((RunId(id), parse_status(&status)?))).collect()
}
