//! The mailbox: where a signal goes into a run's mailbox (`send_signal`)
//! and where it is read back, and `pending_work`, everything recorded for
//! a set of runs and not yet consumed by them — finished tasks, mailbox
//! signals, children's ends — so an owner can catch up in one read.
//!
//! Signals leave the mailbox only through `commit`, in the same write as
//! the event that consumes them. This module never writes history events
//! and never consumes (deletes) a signal.

use continuum_core::error::JournalError;
use continuum_core::ids::RunId;
use continuum_core::journal::{ChildReport, MailboxSignal, PendingWork};
use continuum_core::payload::Payload;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::listener::RUNS_CHANNEL;
use crate::queries::{missing_or_terminal, run_info};
use crate::rows::{backend, finished_outcome, storable, to_u64};

/// Puts a signal in a running run's mailbox and tells its owner.
pub(crate) async fn send_signal(
    pool: &PgPool,
    run: RunId,
    name: &str,
    payload: Payload,
) -> Result<MailboxSignal, JournalError> {
    storable("signal name", name)?;
    // The run row is locked (shared) so the signal cannot land after an
    // `append` that ends the run: it is either in before the end (and
    // the end drops it with the run) or refused as terminal.
    // The run's owner hears of it through the runs channel.
    let id: Option<i64> = sqlx::query_scalar(
        "WITH r AS (SELECT id FROM continuum_runs WHERE id = $1 AND status = 'running' FOR SHARE), \
         s AS (INSERT INTO continuum_signals (run_id, name, payload) SELECT id, $2, $3 FROM r RETURNING id) \
         SELECT s.id FROM s, pg_notify($4, $1::text) AS n",
    )
    .bind(run.0)
    .bind(name)
    .bind(payload.as_json())
    .bind(RUNS_CHANNEL)
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    match id {
        Some(id) => Ok(MailboxSignal { id: to_u64(id), name: name.to_owned(), payload }),
        None => Err(missing_or_terminal(pool, run).await),
    }
}

/// The run's unconsumed signals, oldest first.
pub(crate) async fn mailbox(pool: &PgPool, run: RunId) -> Result<Vec<MailboxSignal>, JournalError> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, payload FROM continuum_signals WHERE run_id = $1 ORDER BY id")
            .bind(run.0)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
    if rows.is_empty() {
        run_info(pool, run).await?;
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, payload)| MailboxSignal {
            id: to_u64(id),
            name,
            payload: Payload::from_json_unchecked(payload),
        })
        .collect())
}

/// Finished tasks, mailbox signals and children's ends waiting for `runs`.
pub(crate) async fn pending_work(pool: &PgPool, runs: &[RunId]) -> Result<PendingWork, JournalError> {
    let ids: Vec<Uuid> = runs.iter().map(|r| r.0).collect();
    let tasks: Vec<(Uuid, i64, i32, String)> = sqlx::query_as(
        "SELECT run_id, seq, attempts, result FROM continuum_tasks \
         WHERE run_id = ANY($1) AND state = 'finished' ORDER BY run_id, seq",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let signals: Vec<(Uuid, i64, String, String)> =
        sqlx::query_as("SELECT run_id, id, name, payload FROM continuum_signals WHERE run_id = ANY($1) ORDER BY id")
            .bind(&ids)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
    let children: Vec<(Uuid, i64, String)> = sqlx::query_as(
        "SELECT parent_id, parent_seq, outcome FROM continuum_child_outcomes \
         WHERE parent_id = ANY($1) ORDER BY parent_id, ended_at, parent_seq",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let children = children
        .into_iter()
        .map(|(parent, seq, text)| {
            let outcome = serde_json::from_str(&text)
                .map_err(|e| JournalError::Backend(format!("child outcome {parent}/{seq} does not decode: {e}")))?;
            Ok(ChildReport { parent: RunId(parent), command: to_u64(seq), outcome })
        })
        .collect::<Result<Vec<_>, JournalError>>()?;
    let tasks = tasks
        .into_iter()
        .map(|(run, seq, attempts, text)| finished_outcome(RunId(run), seq, attempts, &text))
        .collect::<Result<Vec<_>, JournalError>>()?;
    let signals = signals
        .into_iter()
        .map(|(run, id, name, payload)| {
            (RunId(run), MailboxSignal { id: to_u64(id), name, payload: Payload::from_json_unchecked(payload) })
        })
        .collect();
    Ok(PendingWork { tasks, signals, children })
}
