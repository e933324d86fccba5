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

/// Puts a signal in a running run's mailbox unless its delivery id was
/// delivered to the run's chain already (`None`).
pub(crate) async fn send_signal_once(
    pool: &PgPool,
    run: RunId,
    name: &str,
    payload: Payload,
    delivery_id: &str,
) -> Result<Option<MailboxSignal>, JournalError> {
    storable("signal name", name)?;
    storable("signal delivery id", delivery_id)?;
    let mut tx = pool.begin().await.map_err(backend)?;
    let row: Option<(Uuid, String)> = sqlx::query_as("SELECT chain_root, status FROM continuum_runs WHERE id = $1")
        .bind(run.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
    let Some((root, _)) = row else { return Err(JournalError::RunNotFound(run)) };
    // A duplicate is acknowledged even once the chain has ended.
    let seen: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM continuum_signal_ids WHERE chain_root = $1 AND delivery_id = $2)",
    )
    .bind(root)
    .bind(delivery_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    if seen {
        return Ok(None);
    }
    // Locked (shared) so the run cannot end before this commits: the
    // signal is in before its end, or refused as terminal.
    let running: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM continuum_runs WHERE id = $1 AND status = 'running' FOR SHARE")
            .bind(run.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
    if running.is_none() {
        drop(tx);
        return Err(missing_or_terminal(pool, run).await);
    }
    // Two senders of one id: the second waits on the key, then finds it.
    let fresh = sqlx::query(
        "INSERT INTO continuum_signal_ids (chain_root, delivery_id, run_id) VALUES ($1, $2, $3)          ON CONFLICT DO NOTHING",
    )
    .bind(root)
    .bind(delivery_id)
    .bind(run.0)
    .execute(&mut *tx)
    .await
    .map_err(backend)?
    .rows_affected();
    if fresh == 0 {
        return Ok(None);
    }
    let id: i64 =
        sqlx::query_scalar("INSERT INTO continuum_signals (run_id, name, payload) VALUES ($1, $2, $3) RETURNING id")
            .bind(run.0)
            .bind(name)
            .bind(payload.as_json())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
    sqlx::query("SELECT pg_notify($1, $2::text)")
        .bind(RUNS_CHANNEL)
        .bind(run.0.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(Some(MailboxSignal { id: to_u64(id), name: name.to_owned(), payload }))
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
