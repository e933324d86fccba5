//! Row decoding and value conversion: the one place where PostgreSQL's
//! types meet the journal's.
//!
//! Turns rows into [`RunInfo`]s, task fields and task outcomes; turns
//! counters, durations and values into what the statements bind; maps
//! driver errors to [`JournalError`]. Pure functions over values already
//! fetched: nothing here runs a statement or decides anything about a
//! run — a row that does not decode is reported, never repaired.

use std::time::Duration;

use continuum_core::error::{ActivityError, JournalError};
use continuum_core::event::ParentRef;
use continuum_core::ids::{RunId, Seq, VersionHash};
use continuum_core::journal::{RunInfo, RunStatus, TaskOutcome};
use continuum_core::payload::Payload;
use continuum_core::retry::RetryPolicy;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

/// A driver error as the journal reports it: [`JournalError::Unavailable`]
/// when the server could not be reached or went away (a transient state a
/// caller rides out by retrying), [`JournalError::Backend`] otherwise.
pub(crate) fn backend(e: sqlx::Error) -> JournalError {
    if unavailable(&e) { JournalError::Unavailable(e.to_string()) } else { JournalError::Backend(e.to_string()) }
}

/// Whether `e` says the server was unreachable or dropped the connection,
/// rather than refusing a statement: I/O and pool errors, and the SQLSTATE
/// classes for connection exceptions (08), server shutdown (57P01–57P03)
/// and resource limits on connections (53300).
pub(crate) fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => unavailable_db(db.as_ref()),
        _ => false,
    }
}

/// Whether a database error's SQLSTATE says the server went away or
/// refuses connections (see [`unavailable`]).
pub(crate) fn unavailable_db(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.code()
        .is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300"))
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

pub(crate) fn parse_status(s: &str) -> Result<RunStatus, JournalError> {
    Ok(match s {
        "running" => RunStatus::Running,
        "completed" => RunStatus::Completed,
        "failed" => RunStatus::Failed,
        "cancelled" => RunStatus::Cancelled,
        "continued" => RunStatus::Continued,
        other => return Err(JournalError::Backend(format!("unknown run status `{other}` in the database"))),
    })
}

/// PostgreSQL text cannot hold NUL; refuse it before any SQL runs.
pub(crate) fn storable(what: &'static str, value: &str) -> Result<(), JournalError> {
    if value.contains('\0') {
        return Err(JournalError::InvalidInput { what, detail: "contains a NUL character".into() });
    }
    Ok(())
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, JournalError> {
    serde_json::to_string(value).map_err(|e| JournalError::Backend(format!("encoding failed: {e}")))
}

pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A `continuum_runs` row as the journal describes a run.
pub(crate) fn run_info(run: RunId, row: &PgRow) -> Result<RunInfo, JournalError> {
    let version: Vec<u8> = row.try_get("version").map_err(backend)?;
    let version: [u8; 32] =
        version.try_into().map_err(|_| JournalError::Backend(format!("run {run}: version hash is not 32 bytes")))?;
    let status: String = row.try_get("status").map_err(backend)?;
    Ok(RunInfo {
        id: run,
        workflow_id: row.try_get("workflow_id").map_err(backend)?,
        workflow: row.try_get("workflow").map_err(backend)?,
        version: VersionHash(version),
        status: parse_status(&status)?,
        started_at: row.try_get("started_at").map_err(backend)?,
        last_seq: to_u64(row.try_get("last_seq").map_err(backend)?),
        parent: match (
            row.try_get::<Option<Uuid>, _>("parent_id").map_err(backend)?,
            row.try_get::<Option<i64>, _>("parent_seq").map_err(backend)?,
        ) {
            (Some(parent), Some(seq)) => Some(ParentRef {
                run: RunId(parent),
                command: to_u64(seq),
                depth: u32::try_from(row.try_get::<i32, _>("depth").map_err(backend)?).unwrap_or_default(),
            }),
            _ => None,
        },
    })
}

/// A `continuum_tasks` row: its key and its fields.
pub(crate) fn task_from_row(row: &PgRow) -> Result<(RunId, Seq, TaskFields), JournalError> {
    let run = RunId(row.try_get::<Uuid, _>("run_id").map_err(backend)?);
    let seq = to_u64(row.try_get("seq").map_err(backend)?);
    let retry: String = row.try_get("retry").map_err(backend)?;
    let retry: RetryPolicy = serde_json::from_str(&retry)
        .map_err(|e| JournalError::Backend(format!("task {run}/{seq}: retry policy does not decode: {e}")))?;
    let input: String = row.try_get("input").map_err(backend)?;
    let timeout_ms: Option<i64> = row.try_get("timeout_ms").map_err(backend)?;
    Ok((
        run,
        seq,
        TaskFields {
            activity: row.try_get("activity").map_err(backend)?,
            input: Payload::from_json_unchecked(input),
            retry,
            timeout: timeout_ms.map(|ms| Duration::from_millis(to_u64(ms))),
            idempotency_key: row.try_get("idempotency_key").map_err(backend)?,
            attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(backend)?).unwrap_or_default(),
            state: row.try_get("state").map_err(backend)?,
        },
    ))
}

pub(crate) struct TaskFields {
    pub(crate) activity: String,
    pub(crate) input: Payload,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) state: String,
}

/// A finished task row's outcome.
pub(crate) fn finished_outcome(run: RunId, seq: i64, attempts: i32, result: &str) -> Result<TaskOutcome, JournalError> {
    let seq = to_u64(seq);
    Ok(TaskOutcome {
        run,
        seq,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        result: decode_result(run, seq, result)?,
    })
}

fn decode_result(run: RunId, seq: Seq, text: &str) -> Result<Result<Payload, ActivityError>, JournalError> {
    serde_json::from_str(text)
        .map_err(|e| JournalError::Backend(format!("task {run}/{seq}: stored result does not decode: {e}")))
}
