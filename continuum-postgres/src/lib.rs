//! A PostgreSQL [`Journal`] for Continuum: runs, histories, signal
//! mailboxes and activity tasks survive the process.
//!
//! The runtime and engine are the same as over the in-memory journal; this
//! crate adds durability and fencing only:
//!
//! - every run write (`append`) is one transaction that first locks the
//!   run's row and compares the writer's lease token with the one in force
//!   — a writer whose lease was taken over gets [`JournalError::Fenced`]
//!   and nothing it sent is applied;
//! - fencing tokens come from one database sequence, so they are never
//!   reused, whichever process asks;
//! - activity tasks are claimed with `FOR UPDATE SKIP LOCKED` under a lease
//!   with a TTL on the database clock; a task whose worker died is claimed
//!   again once the lease lapses, and the crash consumes an attempt;
//! - new tasks are announced with `NOTIFY continuum_tasks` (payload-free),
//!   heard through `LISTEN` with a poll backstop.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use continuum_postgres::PostgresJournal;
//!
//! let journal = PostgresJournal::connect("postgres://postgres@127.0.0.1/app").await?;
//! journal.migrate().await?;
//! // continuum::Runtime::builder().journal(Arc::new(journal)) …
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use continuum_core::error::{ActivityError, ActivityErrorKind, JournalError};
use continuum_core::event::{HistoryEvent, ParentRef};
use continuum_core::ids::{RunId, Seq, VersionHash};
use continuum_core::journal::{
    ActivityTask, AttemptResult, ChildReport, Claim, Journal, Lease, MailboxSignal, NewRun, PendingWork, RunAppend,
    RunInfo, RunStatus, RunWake, RunWrite, Servable, TaskLease, TaskOutcome, Written,
};
use continuum_core::payload::Payload;
use continuum_core::retry::RetryPolicy;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Row, Transaction};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

mod commit;

/// The migrations in the workspace's `migrations/` directory, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The channel new and retried tasks are announced on (no payload).
const TASKS_CHANNEL: &str = "continuum_tasks";

/// The channel that tells a run's owner that work for the run was
/// recorded by another process (payload: the run id).
const RUNS_CHANNEL: &str = "continuum_runs";

/// Setting up the journal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The database could not be reached.
    #[error("cannot connect to PostgreSQL at {address}: {source}")]
    Connect {
        /// The address, without its password.
        address: String,
        /// Why.
        source: sqlx::Error,
    },
    /// Applying the schema failed.
    #[error("applying Continuum's migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The PostgreSQL journal. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct PostgresJournal {
    pool: PgPool,
    tasks_ready: Arc<Notify>,
    wakes: broadcast::Sender<RunWake>,
    run_lease: Duration,
}

impl std::fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresJournal").finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`, for errors.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{}{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

fn backend(e: sqlx::Error) -> JournalError {
    JournalError::Backend(e.to_string())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

fn parse_status(s: &str) -> Result<RunStatus, JournalError> {
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
fn storable(what: &'static str, value: &str) -> Result<(), JournalError> {
    if value.contains('\0') {
        return Err(JournalError::InvalidInput { what, detail: "contains a NUL character".into() });
    }
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, JournalError> {
    serde_json::to_string(value).map_err(|e| JournalError::Backend(format!("encoding failed: {e}")))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl PostgresJournal {
    /// Connects a pool to `url`. Does not touch the schema; see
    /// [`migrate`](Self::migrate).
    ///
    /// One connection is made first, once: an unreachable server is
    /// reported at once as [`PostgresError::Connect`] (see
    /// [`connect_with_retry`](Self::connect_with_retry) to keep trying).
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        let failed = |source| PostgresError::Connect { address: redact(url), source };
        let options: PgConnectOptions = url.parse().map_err(failed)?;
        let probe = PgConnection::connect_with(&options).await.map_err(failed)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        Ok(Self::from_pool(pool))
    }

    /// Connects like [`connect`](Self::connect), retrying with
    /// exponential backoff (100 ms doubling to 5 s, each failure logged
    /// with the address) until `give_up_after` has passed — for
    /// long-running workers that may start before their database. The
    /// last [`PostgresError::Connect`] is returned if it never answers.
    pub async fn connect_with_retry(url: &str, give_up_after: Duration) -> Result<Self, PostgresError> {
        let deadline = tokio::time::Instant::now() + give_up_after;
        let mut backoff = Duration::from_millis(100);
        loop {
            match Self::connect(url).await {
                Ok(journal) => return Ok(journal),
                Err(e) if tokio::time::Instant::now() + backoff < deadline => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "PostgreSQL is unreachable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Uses an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        let tasks_ready = Arc::new(Notify::new());
        let (wakes, _) = broadcast::channel(4096);
        tokio::spawn(listen(pool.clone(), tasks_ready.clone(), wakes.clone()));
        Self { pool, tasks_ready, wakes, run_lease: Duration::from_secs(30) }
    }

    /// How long a run's lease lasts without renewal before another process
    /// may adopt the run (default 30 s). The runtime renews every
    /// `EngineConfig::lease_renewal` (5 s by default); keep this several
    /// times longer.
    pub fn with_run_lease(mut self, ttl: Duration) -> Self {
        self.run_lease = ttl;
        self
    }

    /// Applies Continuum's schema (idempotent; safe from several processes
    /// at once — sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run_row(&self, run: RunId) -> Result<RunInfo, JournalError> {
        let row = sqlx::query(
            "SELECT workflow_id, workflow, version, status, started_at, last_seq, parent_id, parent_seq, depth \
             FROM continuum_runs WHERE id = $1",
        )
        .bind(run.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or(JournalError::RunNotFound(run))?;
        run_info(run, &row)
    }

    async fn missing_or_terminal(&self, run: RunId) -> JournalError {
        match self.run_row(run).await {
            Ok(info) if info.status.is_terminal() => JournalError::RunTerminal { run, status: info.status },
            Ok(_) => JournalError::Backend(format!("run {run} changed while being written")),
            Err(e) => e,
        }
    }
}

fn run_info(run: RunId, row: &sqlx::postgres::PgRow) -> Result<RunInfo, JournalError> {
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

/// Wakes `wait_for_tasks` when a task is announced, and passes run hints
/// on to the runtimes using this journal. After every (re)connection —
/// once `LISTEN` is in place — it sends [`RunWake::All`], since hints sent
/// while nobody listened are lost; `wait_for_tasks` also times out, so a
/// lost task announcement costs at most one poll interval.
async fn listen(pool: PgPool, ready: Arc<Notify>, wakes: broadcast::Sender<RunWake>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen_all([TASKS_CHANNEL, RUNS_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match listener.await {
            Ok(mut l) => {
                backoff = Duration::from_millis(100);
                let _ = wakes.send(RunWake::All);
                ready.notify_one();
                loop {
                    match l.try_recv().await {
                        Ok(Some(n)) if n.channel() == RUNS_CHANNEL => match n.payload().parse::<Uuid>() {
                            Ok(id) => {
                                let _ = wakes.send(RunWake::Run(RunId(id)));
                            }
                            Err(_) => tracing::debug!(payload = n.payload(), "ignoring a malformed run hint"),
                        },
                        Ok(Some(_)) => ready.notify_one(),
                        // The connection was lost: connect and LISTEN anew,
                        // then tell everyone to look.
                        Ok(None) => {
                            tracing::debug!("journal listener lost its connection; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "journal listener failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::debug!(error = %e, "journal listener cannot connect; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        if pool.is_closed() {
            return;
        }
    }
}

fn task_from_row(row: &sqlx::postgres::PgRow) -> Result<(RunId, Seq, TaskFields), JournalError> {
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

struct TaskFields {
    activity: String,
    input: Payload,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    idempotency_key: Option<String>,
    attempts: u32,
    state: String,
}

/// A finished task row's outcome.
fn finished_outcome(run: RunId, seq: i64, attempts: i32, result: &str) -> Result<TaskOutcome, JournalError> {
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

/// Locks a leased task for its holder; fenced if another holds it.
async fn lock_task(
    tx: &mut Transaction<'_, Postgres>,
    task: &ActivityTask,
) -> Result<sqlx::postgres::PgRow, JournalError> {
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

#[async_trait]
impl Journal for PostgresJournal {
    async fn create_run(&self, run: NewRun) -> Result<Lease, JournalError> {
        let mut results = self.commit(vec![run.into_write(Utc::now())]).await?;
        results.pop().unwrap_or_else(|| Err(JournalError::Backend("empty commit result".into()))).map(|w| w.lease)
    }

    async fn acquire_run(&self, run: RunId) -> Result<Lease, JournalError> {
        let token: Option<i64> = sqlx::query_scalar(
            "UPDATE continuum_runs SET lease_token = nextval('continuum_lease_token'), \
             lease_until = now() + make_interval(secs => $2) \
             WHERE id = $1 AND status = 'running' RETURNING lease_token",
        )
        .bind(run.0)
        .bind(secs(self.run_lease))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match token {
            Some(t) => Ok(Lease { run, token: to_u64(t) }),
            None => Err(self.missing_or_terminal(run).await),
        }
    }

    async fn reacquire_run(&self, lease: &Lease) -> Result<Lease, JournalError> {
        let token: Option<i64> = sqlx::query_scalar(
            "UPDATE continuum_runs SET lease_token = nextval('continuum_lease_token'), \
             lease_until = now() + make_interval(secs => $3) \
             WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING lease_token",
        )
        .bind(lease.run.0)
        .bind(to_i64(lease.token))
        .bind(secs(self.run_lease))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        if let Some(t) = token {
            return Ok(Lease { run: lease.run, token: to_u64(t) });
        }
        let row: Option<(String, i64)> = sqlx::query_as("SELECT status, lease_token FROM continuum_runs WHERE id = $1")
            .bind(lease.run.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let (status, current) = row.ok_or(JournalError::RunNotFound(lease.run))?;
        let status = parse_status(&status)?;
        if status.is_terminal() {
            return Err(JournalError::RunTerminal { run: lease.run, status });
        }
        Err(JournalError::Fenced { run: lease.run, presented: lease.token, current: to_u64(current) })
    }

    async fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError> {
        self.run_row(run).await
    }

    async fn find_workflow_id(&self, workflow_id: &str) -> Result<Option<RunInfo>, JournalError> {
        if workflow_id.contains('\0') {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT id, workflow_id, workflow, version, status, started_at, last_seq, parent_id, parent_seq, depth \
             FROM continuum_runs \
             WHERE namespace = 'default' AND workflow_id = $1 AND continued_from IS NULL",
        )
        .bind(workflow_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            Some(row) => {
                let id = RunId(row.try_get::<Uuid, _>("id").map_err(backend)?);
                Ok(Some(run_info(id, &row)?))
            }
            None => Ok(None),
        }
    }

    async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, event FROM continuum_events WHERE run_id = $1 ORDER BY seq")
                .bind(run.0)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        if rows.is_empty() {
            // Distinguish "no such run" from an empty history (which a
            // created run never has).
            self.run_row(run).await?;
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

    async fn append(&self, append: RunAppend) -> Result<(), JournalError> {
        let mut results = self.commit(vec![RunWrite { create: None, append }]).await?;
        results.pop().unwrap_or_else(|| Err(JournalError::Backend("empty commit result".into()))).map(|_| ())
    }

    async fn commit(&self, writes: Vec<RunWrite>) -> Result<Vec<Result<Written, JournalError>>, JournalError> {
        commit::commit(&self.pool, self.run_lease, writes).await
    }

    async fn active_runs(&self) -> Result<Vec<RunId>, JournalError> {
        let ids: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM continuum_runs WHERE status = 'running' ORDER BY started_at, id")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(ids.into_iter().map(RunId).collect())
    }

    async fn send_signal(&self, run: RunId, name: &str, payload: Payload) -> Result<MailboxSignal, JournalError> {
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
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match id {
            Some(id) => Ok(MailboxSignal { id: to_u64(id), name: name.to_owned(), payload }),
            None => Err(self.missing_or_terminal(run).await),
        }
    }

    async fn mailbox(&self, run: RunId) -> Result<Vec<MailboxSignal>, JournalError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, payload FROM continuum_signals WHERE run_id = $1 ORDER BY id")
                .bind(run.0)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        if rows.is_empty() {
            self.run_row(run).await?;
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

    async fn claim_tasks(
        &self,
        max: usize,
        ttl: Duration,
        activities: Option<&[String]>,
    ) -> Result<Claim, JournalError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
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

    async fn heartbeat_task(&self, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError> {
        let renewed = sqlx::query(
            "UPDATE continuum_tasks SET lease_until = now() + make_interval(secs => $4) \
             WHERE run_id = $1 AND seq = $2 AND state = 'leased' AND lease_token = $3",
        )
        .bind(task.run.0)
        .bind(to_i64(task.seq))
        .bind(to_i64(task.token))
        .bind(secs(ttl))
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected();
        if renewed == 1 {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_task(&mut tx, task).await.map(|_| ())
    }

    async fn heartbeat_tasks(&self, leases: &[TaskLease], ttl: Duration) -> Result<Vec<TaskLease>, JournalError> {
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
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let renewed: std::collections::HashSet<(Uuid, i64)> = renewed.into_iter().collect();
        Ok(sorted.into_iter().filter(|l| !renewed.contains(&(l.run.0, to_i64(l.seq)))).collect())
    }

    async fn finish_attempt(
        &self,
        task: &ActivityTask,
        result: AttemptResult,
    ) -> Result<Option<TaskOutcome>, JournalError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let row = lock_task(&mut tx, task).await?;
        let (run, seq, t) = task_from_row(&row)?;
        let outcome = match result {
            AttemptResult::Completed(out) => {
                if let Some(key) = &t.idempotency_key {
                    sqlx::query(
                        "INSERT INTO continuum_activity_results (activity, idempotency_key, output) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(&t.activity)
                    .bind(key)
                    .bind(out.as_json())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                Some(Ok(out))
            }
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

    async fn finished_tasks(&self, run: RunId) -> Result<Vec<TaskOutcome>, JournalError> {
        let rows: Vec<(i64, i32, String)> = sqlx::query_as(
            "SELECT seq, attempts, result FROM continuum_tasks WHERE run_id = $1 AND state = 'finished' ORDER BY seq",
        )
        .bind(run.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(|(seq, attempts, text)| finished_outcome(run, seq, attempts, &text)).collect()
    }

    async fn next_task_due(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        // Returned on the database clock; callers compare with their own,
        // which on one host is the same clock.
        sqlx::query_scalar(
            "SELECT min(CASE WHEN state = 'ready' THEN due ELSE lease_until END) \
             FROM continuum_tasks WHERE state <> 'finished'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn wait_for_tasks(&self, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.tasks_ready.notified()).await;
    }

    fn run_leases_expire(&self) -> bool {
        true
    }

    async fn renew_run_leases(&self, leases: &[Lease]) -> Result<Vec<RunId>, JournalError> {
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
        .bind(secs(self.run_lease))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let renewed: std::collections::BTreeSet<Uuid> = renewed.into_iter().collect();
        // A run that ended is not lost: its owner finished it.
        let missing: Vec<Uuid> = ids.iter().filter(|id| !renewed.contains(id)).copied().collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let lost: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM continuum_runs WHERE id = ANY($1) AND status = 'running'")
                .bind(&missing)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(lost.into_iter().map(RunId).collect())
    }

    async fn pending_work(&self, runs: &[RunId]) -> Result<PendingWork, JournalError> {
        let ids: Vec<Uuid> = runs.iter().map(|r| r.0).collect();
        let tasks: Vec<(Uuid, i64, i32, String)> = sqlx::query_as(
            "SELECT run_id, seq, attempts, result FROM continuum_tasks \
             WHERE run_id = ANY($1) AND state = 'finished' ORDER BY run_id, seq",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let signals: Vec<(Uuid, i64, String, String)> = sqlx::query_as(
            "SELECT run_id, id, name, payload FROM continuum_signals WHERE run_id = ANY($1) ORDER BY id",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let children: Vec<(Uuid, i64, String)> = sqlx::query_as(
            "SELECT parent_id, parent_seq, outcome FROM continuum_child_outcomes \
             WHERE parent_id = ANY($1) ORDER BY parent_id, ended_at, parent_seq",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
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

    async fn chain_tip(&self, run: RunId) -> Result<RunId, JournalError> {
        let tip: Option<Uuid> = sqlx::query_scalar(
            "WITH RECURSIVE chain (id, n) AS ( \
                 SELECT id, 0 FROM continuum_runs WHERE id = $1 \
                 UNION ALL \
                 SELECT r.id, c.n + 1 FROM continuum_runs r JOIN chain c ON r.continued_from = c.id) \
             SELECT id FROM chain ORDER BY n DESC LIMIT 1",
        )
        .bind(run.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        tip.map(RunId).ok_or(JournalError::RunNotFound(run))
    }

    async fn running_children(&self, run: RunId) -> Result<Vec<RunId>, JournalError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM continuum_runs WHERE parent_id = $1 AND status = 'running' ORDER BY started_at, id",
        )
        .bind(run.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ids.into_iter().map(RunId).collect())
    }

    fn run_wakeups(&self) -> Option<broadcast::Receiver<RunWake>> {
        Some(self.wakes.subscribe())
    }

    async fn run_statuses(&self, runs: &[RunId]) -> Result<Vec<(RunId, RunStatus)>, JournalError> {
        let ids: Vec<Uuid> = runs.iter().map(|r| r.0).collect();
        let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM continuum_runs WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(|(id, status)| Ok((RunId(id), parse_status(&status)?))).collect()
    }

    async fn claim_orphaned_runs(&self, max: usize, servable: &Servable) -> Result<Vec<RunId>, JournalError> {
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
        .bind(secs(self.run_lease))
        .bind(&names)
        .bind(&versions)
        .bind(&servable.names)
        .bind(servable.process)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ids.into_iter().map(RunId).collect())
    }

    async fn register_versions(
        &self,
        process: Uuid,
        versions: &[(String, VersionHash)],
        alive_for: Duration,
    ) -> Result<(), JournalError> {
        let (names, hashes): (Vec<&str>, Vec<Vec<u8>>) =
            versions.iter().map(|(n, v)| (n.as_str(), v.0.to_vec())).unzip();
        for name in &names {
            storable("workflow name", name)?;
        }
        sqlx::query(
            "INSERT INTO continuum_workflow_versions (workflow, version, process, alive_until) \
             SELECT n, v, $3, now() + make_interval(secs => $4) FROM unnest($1::text[], $2::bytea[]) AS u(n, v) \
             ORDER BY n, v \
             ON CONFLICT (workflow, version, process) DO UPDATE SET alive_until = excluded.alive_until",
        )
        .bind(&names)
        .bind(&hashes)
        .bind(process)
        .bind(secs(alive_for))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn served_versions(&self, except: Uuid) -> Result<Vec<(String, VersionHash)>, JournalError> {
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT DISTINCT workflow, version FROM continuum_workflow_versions \
             WHERE process <> $1 AND alive_until > now()",
        )
        .bind(except)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(name, v)| {
                let v: [u8; 32] =
                    v.try_into().map_err(|_| JournalError::Backend(format!("version of `{name}` is not 32 bytes")))?;
                Ok((name, VersionHash(v)))
            })
            .collect()
    }

    async fn release_run(&self, lease: &Lease, backoff: Duration) -> Result<(), JournalError> {
        sqlx::query(
            "UPDATE continuum_runs SET lease_until = now() + make_interval(secs => $3) \
             WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(lease.run.0)
        .bind(to_i64(lease.token))
        .bind(secs(backoff))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }
}

/// Tells the run's owner, through the runs channel, that work for the run
/// is waiting (sent when the transaction commits).
async fn notify_owner(tx: &mut Transaction<'_, Postgres>, run: RunId) -> Result<(), JournalError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(RUNS_CHANNEL)
        .bind(run.to_string())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_shown_in_errors() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/x"), "postgres://app@db:5432/x");
        assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact("postgres:///x?host=/tmp"), "postgres:///x?host=/tmp");
    }
}
