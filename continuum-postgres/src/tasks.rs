//! Activity tasks: where a task is claimed (`claim`, under a lease with a
//! TTL on the database clock), heartbeated, and finished or put back for
//! a retry (`finish_attempt`); where finished tasks are read back; where
//! workers wait for tasks to be announced.
//!
//! Tasks are created and dropped with their run's writes (see `commit`);
//! here only their lease and state move. A task write by a holder whose
//! lease was taken over is refused as fenced (`lock_task`). This module
//! never writes history events: an outcome is left on the task row and
//! the run's owner is told (`notify_owner`), and the owner journals it.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use continuum_core::error::{ActivityError, ActivityErrorKind, JournalError};
use continuum_core::ids::{RunId, Seq};
use continuum_core::journal::{ActivityTask, AttemptResult, Claim, StoredResult, TaskLease, TaskOutcome};
use continuum_core::payload::Payload;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, Row, Transaction};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::listener::{TASKS_CHANNEL, notify_owner};
use crate::rows::{backend, finished_outcome, json, secs, task_from_row, to_i64, to_u64};

/// Claims up to `max` due tasks (of `activities`, if given) for `ttl`;
/// settles, without running them, those an idempotency key already
/// answered and those whose worker died during their last attempt.
pub(crate) async fn claim(
    pool: &PgPool,
    max: usize,
    ttl: Duration,
    activities: Option<&[String]>,
) -> Result<Claim, JournalError> {
    let mut tx = pool.begin().await.map_err(backend)?;
    // Ready tasks that are due and leased tasks whose holder stopped
    // heartbeating, oldest first; rows another claimer holds are
    // skipped, not waited for.
    let rows = sqlx::query(
        "SELECT * FROM continuum_tasks \
         WHERE ((state = 'ready' AND due <= now()) OR (state = 'leased' AND lease_until <= now())) \
           AND ($2::text[] IS NULL OR activity = ANY($2)) \
         ORDER BY due, run_id, seq LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .bind(activities)
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    let mut claim = Claim::default();
    for row in &rows {
        let (run, seq, t) = task_from_row(row)?;
        if let Some(key) = &t.idempotency_key {
            let stored: Option<String> = sqlx::query_scalar(
                "SELECT output FROM continuum_activity_results WHERE activity = $1 AND idempotency_key = $2",
            )
            .bind(&t.activity)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            if let Some(output) = stored {
                let result: Result<Payload, ActivityError> = Ok(Payload::from_json_unchecked(output));
                finish(&mut tx, run, seq, &result).await?;
                notify_owner(&mut tx, run).await?;
                claim.settled.push(TaskOutcome { run, seq, attempts: t.attempts, result });
                continue;
            }
        }
        if t.state == "leased" && t.attempts >= t.retry.max_attempts {
            // The holder died during the last allowed attempt: the crash
            // consumed it. Fail without re-running side effects.
            tracing::warn!(%run, seq, attempts = t.attempts, "activity worker lost its last attempt");
            let result = Err(ActivityError {
                kind: ActivityErrorKind::AttemptsExhausted,
                message: format!("worker lost attempt {} of {}", t.attempts, t.retry.max_attempts),
                non_retryable: true,
            });
            finish(&mut tx, run, seq, &result).await?;
            notify_owner(&mut tx, run).await?;
            claim.settled.push(TaskOutcome { run, seq, attempts: t.attempts, result });
            continue;
        }
        let token: i64 = sqlx::query_scalar(
            "UPDATE continuum_tasks SET attempts = attempts + 1, state = 'leased', \
             lease_token = nextval('continuum_lease_token'), lease_until = now() + make_interval(secs => $3) \
             WHERE run_id = $1 AND seq = $2 RETURNING lease_token",
        )
        .bind(run.0)
        .bind(to_i64(seq))
        .bind(secs(ttl))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        claim.tasks.push(ActivityTask {
            run,
            seq,
            activity: t.activity,
            input: t.input,
            attempt: t.attempts + 1,
            retry: t.retry,
            timeout: t.timeout,
            token: to_u64(token),
            idempotency_key: t.idempotency_key,
        });
    }
    tx.commit().await.map_err(backend)?;
    Ok(claim)
}

/// Extends one task's lease for its holder; fenced if another holds it.
pub(crate) async fn heartbeat(pool: &PgPool, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError> {
    let renewed = sqlx::query(
        "UPDATE continuum_tasks SET lease_until = now() + make_interval(secs => $4) \
         WHERE run_id = $1 AND seq = $2 AND state = 'leased' AND lease_token = $3",
    )
    .bind(task.run.0)
    .bind(to_i64(task.seq))
    .bind(to_i64(task.token))
    .bind(secs(ttl))
    .execute(pool)
    .await
    .map_err(backend)?
    .rows_affected();
    if renewed == 1 {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(backend)?;
    lock_task(&mut tx, task).await.map(|_| ())
}

/// Extends many tasks' leases in one statement; returns the leases that
/// were lost.
pub(crate) async fn heartbeat_many(
    pool: &PgPool,
    leases: &[TaskLease],
    ttl: Duration,
) -> Result<Vec<TaskLease>, JournalError> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted = leases.to_vec();
    sorted.sort();
    let runs: Vec<Uuid> = sorted.iter().map(|l| l.run.0).collect();
    let seqs: Vec<i64> = sorted.iter().map(|l| to_i64(l.seq)).collect();
    let tokens: Vec<i64> = sorted.iter().map(|l| to_i64(l.token)).collect();
    // Rows are locked in key order, so two renewers never deadlock.
    let renewed: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE continuum_tasks t SET lease_until = now() + make_interval(secs => $4) \
         WHERE (t.run_id, t.seq) IN ( \
             SELECT c.run_id, c.seq FROM continuum_tasks c \
             JOIN unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS u(r, s, k) \
               ON c.run_id = u.r AND c.seq = u.s AND c.lease_token = u.k \
             WHERE c.state = 'leased' ORDER BY c.run_id, c.seq FOR UPDATE OF c) \
         RETURNING t.run_id, t.seq",
    )
    .bind(&runs)
    .bind(&seqs)
    .bind(&tokens)
    .bind(secs(ttl))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let renewed: HashSet<(Uuid, i64)> = renewed.into_iter().collect();
    Ok(sorted.into_iter().filter(|l| !renewed.contains(&(l.run.0, to_i64(l.seq)))).collect())
}

/// Records an attempt's result: the task finishes (and its owner is
/// told), or goes back to ready after the retry's wait.
pub(crate) async fn finish_attempt(
    pool: &PgPool,
    task: &ActivityTask,
    result: AttemptResult,
) -> Result<Option<TaskOutcome>, JournalError> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let row = lock_task(&mut tx, task).await?;
    let (run, seq, t) = task_from_row(&row)?;
    let outcome = match result {
        AttemptResult::Completed(out) => match &t.idempotency_key {
            // The first result stored under the key is the task's result.
            Some(key) => Some(Ok(keep_result(&mut tx, &t.activity, key, out).await?)),
            None => Some(Ok(out)),
        },
        AttemptResult::Failed { retry_in: Some(wait), .. } if t.attempts < t.retry.max_attempts => {
            // The backoff is counted on the database clock.
            sqlx::query(
                "UPDATE continuum_tasks SET state = 'ready', due = now() + make_interval(secs => $3), \
                 lease_token = NULL, lease_until = NULL WHERE run_id = $1 AND seq = $2",
            )
            .bind(run.0)
            .bind(to_i64(seq))
            .bind(secs(wait))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query("SELECT pg_notify($1, '')").bind(TASKS_CHANNEL).execute(&mut *tx).await.map_err(backend)?;
            None
        }
        AttemptResult::Failed { error, .. } => Some(Err(error)),
    };
    if let Some(result) = &outcome {
        finish(&mut tx, run, seq, result).await?;
        notify_owner(&mut tx, run).await?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(outcome.map(|result| TaskOutcome { run, seq, attempts: t.attempts, result }))
}

/// The run's finished tasks, by seq.
pub(crate) async fn finished(pool: &PgPool, run: RunId) -> Result<Vec<TaskOutcome>, JournalError> {
    let rows: Vec<(i64, i32, String)> = sqlx::query_as(
        "SELECT seq, attempts, result FROM continuum_tasks WHERE run_id = $1 AND state = 'finished' ORDER BY seq",
    )
    .bind(run.0)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.into_iter().map(|(seq, attempts, text)| finished_outcome(run, seq, attempts, &text)).collect()
}

/// When the next task becomes claimable (due, or its lease lapses).
pub(crate) async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, JournalError> {
    // Returned on the database clock; callers compare with their own,
    // which on one host is the same clock.
    sqlx::query_scalar(
        "SELECT min(CASE WHEN state = 'ready' THEN due ELSE lease_until END) \
         FROM continuum_tasks WHERE state <> 'finished'",
    )
    .fetch_one(pool)
    .await
    .map_err(backend)
}

/// Waits for the listener to hear a task announced, or `max_wait`.
pub(crate) async fn wait_for_tasks(ready: &Notify, max_wait: Duration) {
    let _ = tokio::time::timeout(max_wait, ready.notified()).await;
}

/// Locks a leased task for its holder; fenced if another holds it.
async fn lock_task(tx: &mut Transaction<'_, Postgres>, task: &ActivityTask) -> Result<PgRow, JournalError> {
    let row = sqlx::query("SELECT * FROM continuum_tasks WHERE run_id = $1 AND seq = $2 FOR UPDATE")
        .bind(task.run.0)
        .bind(to_i64(task.seq))
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?
        .ok_or(JournalError::TaskNotFound { run: task.run, seq: task.seq })?;
    let state: String = row.try_get("state").map_err(backend)?;
    let token: Option<i64> = row.try_get("lease_token").map_err(backend)?;
    if state != "leased" || token != Some(to_i64(task.token)) {
        let current = if state == "leased" { token.map(to_u64).unwrap_or_default() } else { 0 };
        tracing::warn!(run = %task.run, seq = task.seq, presented = task.token, current, "stale task write rejected");
        return Err(JournalError::Fenced { run: task.run, presented: task.token, current });
    }
    Ok(row)
}

/// Marks a task finished with `result`.
async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    run: RunId,
    seq: Seq,
    result: &Result<Payload, ActivityError>,
) -> Result<(), JournalError> {
    sqlx::query(
        "UPDATE continuum_tasks SET state = 'finished', result = $3, lease_token = NULL, lease_until = NULL \
         WHERE run_id = $1 AND seq = $2",
    )
    .bind(run.0)
    .bind(to_i64(seq))
    .bind(json(result)?)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Keeps `output` under `(activity, key)` unless a result is stored there
/// already; returns the result in force (the first stored).
pub(crate) async fn store_result(pool: &PgPool, stored: StoredResult) -> Result<Payload, JournalError> {
    let mut conn = pool.acquire().await.map_err(backend)?;
    keep_result(&mut conn, &stored.activity, &stored.key, stored.output).await
}

async fn keep_result(
    conn: &mut PgConnection,
    activity: &str,
    key: &str,
    output: Payload,
) -> Result<Payload, JournalError> {
    let inserted = sqlx::query(
        "INSERT INTO continuum_activity_results (activity, idempotency_key, output) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(activity)
    .bind(key)
    .bind(output.as_json())
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if inserted.rows_affected() == 1 {
        return Ok(output);
    }
    // Another writer stored first (its row is committed: the insert waited
    // for it); a fresh statement sees it.
    let stored: String = sqlx::query_scalar(
        "SELECT output FROM continuum_activity_results WHERE activity = $1 AND idempotency_key = $2",
    )
    .bind(activity)
    .bind(key)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(Payload::from_json_unchecked(stored))
}

/// Gives tasks back without counting the attempt they were on: each
/// still leased with the presented token becomes ready now, and workers
/// are told.
pub(crate) async fn release(pool: &PgPool, leases: &[TaskLease]) -> Result<(), JournalError> {
    if leases.is_empty() {
        return Ok(());
    }
    let mut sorted = leases.to_vec();
    sorted.sort();
    let runs: Vec<Uuid> = sorted.iter().map(|l| l.run.0).collect();
    let seqs: Vec<i64> = sorted.iter().map(|l| to_i64(l.seq)).collect();
    let tokens: Vec<i64> = sorted.iter().map(|l| to_i64(l.token)).collect();
    sqlx::query(
        "WITH released AS ( \
             UPDATE continuum_tasks t SET state = 'ready', attempts = greatest(t.attempts - 1, 0), due = now(), \
                    lease_token = NULL, lease_until = NULL \
             WHERE (t.run_id, t.seq) IN ( \
                 SELECT c.run_id, c.seq FROM continuum_tasks c \
                 JOIN unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS u(r, s, k) \
                   ON c.run_id = u.r AND c.seq = u.s AND c.lease_token = u.k \
                 WHERE c.state = 'leased' ORDER BY c.run_id, c.seq FOR UPDATE OF c) \
             RETURNING t.run_id) \
         SELECT pg_notify($4, '') FROM (SELECT 1 FROM released LIMIT 1) AS any_released",
    )
    .bind(&runs)
    .bind(&seqs)
    .bind(&tokens)
    .bind(TASKS_CHANNEL)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(())
}
