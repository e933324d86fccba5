//! The journal handle and how it is made: [`PostgresJournal`], its pool,
//! connecting (once, or with retries) and the errors of setting it up.
//!
//! Making a journal starts its listener (see `listener`) and nothing
//! else: this module never touches the schema (that is `migrate`) and
//! never reads or writes a run.

use std::sync::Arc;
use std::time::Duration;

use continuum_core::journal::RunWake;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use tokio::sync::{Notify, broadcast};

use crate::listener::listen;
use crate::options::PostgresOptions;

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
    /// The journal's schema is missing or older than this build: nothing
    /// was read or written. Apply the migrations first.
    #[error(
        "the journal's schema `{schema}` is {state} (this build needs migration {expected}): \
         apply the migrations first — `continuum_postgres::migrate(&options)`, \
         `PostgresJournal::connect_with(options.migrate(true))`, or the `continuum_migrate` binary",
        state = match applied { None => "not there".to_owned(), Some(v) => format!("at migration {v}") }
    )]
    NotMigrated {
        /// The schema looked in.
        schema: String,
        /// The latest migration applied there, if any.
        applied: Option<i64>,
        /// The latest migration this build has.
        expected: i64,
    },
    /// The schema name is not a plain identifier (see
    /// [`PostgresOptions::schema`](crate::PostgresOptions::schema)).
    #[error(
        "`{schema}` is not a usable schema name: use ASCII letters, digits and `_`, not starting with a digit, at most 63 bytes"
    )]
    InvalidSchema {
        /// The name given.
        schema: String,
    },
    /// Reading or preparing the journal's schema failed.
    #[error("checking the journal's schema failed: {0}")]
    Schema(#[source] sqlx::Error),
}

/// The PostgreSQL journal. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct PostgresJournal {
    pub(crate) pool: PgPool,
    /// Woken by the listener when a task is announced.
    pub(crate) tasks_ready: Arc<Notify>,
    /// Run hints from the listener, for the runtimes on this journal.
    pub(crate) wakes: broadcast::Sender<RunWake>,
    pub(crate) run_lease: Duration,
    /// The schema of the journal's tables.
    pub(crate) schema: String,
    /// The LISTEN task, stopped when the last clone of the journal is
    /// dropped (it holds the pool, which would otherwise never close).
    _listener: Arc<ListenerTask>,
}

/// Aborts the listener task on drop.
struct ListenerTask(tokio::task::JoinHandle<()>);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresJournal").finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`, for errors.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{}{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The connect options of `options`: its URL, with the journal's schema
/// as the only `search_path`.
pub(crate) fn connect_options(options: &PostgresOptions) -> Result<PgConnectOptions, PostgresError> {
    let schema = options.checked_schema()?;
    let parsed: PgConnectOptions =
        options.url.parse().map_err(|source| PostgresError::Connect { address: redact(&options.url), source })?;
    Ok(parsed.options([("search_path", schema)]))
}

impl PostgresJournal {
    /// Connects to `url`, with the journal in schema `continuum` (see
    /// [`connect_with`](Self::connect_with) for the rest).
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(PostgresOptions::new(url)).await
    }

    /// Connects to `url` and applies the journal's migrations first (see
    /// [`PostgresOptions::migrate`]).
    pub async fn connect_and_migrate(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(PostgresOptions::new(url).migrate(true)).await
    }

    /// Connects like [`connect`](Self::connect), retrying with
    /// exponential backoff until `give_up_after` has passed (see
    /// [`PostgresOptions::retry_for`]).
    pub async fn connect_with_retry(url: &str, give_up_after: Duration) -> Result<Self, PostgresError> {
        Self::connect_with(PostgresOptions::new(url).retry_for(give_up_after)).await
    }

    /// Connects a pool as `options` say.
    ///
    /// One connection is made first: an unreachable server is reported as
    /// [`PostgresError::Connect`] (at once, or after
    /// [`retry_for`](PostgresOptions::retry_for) has passed). With
    /// [`migrate`](PostgresOptions::migrate) the migrations are applied
    /// then. Last the schema is checked: a journal schema that is missing
    /// or older than this build fails with [`PostgresError::NotMigrated`],
    /// which says what to run.
    pub async fn connect_with(options: PostgresOptions) -> Result<Self, PostgresError> {
        let schema = options.checked_schema()?.to_owned();
        let connect = connect_options(&options)?;
        let deadline = options.retry_for.and_then(|d| tokio::time::Instant::now().checked_add(d));
        let mut backoff = Duration::from_millis(100);
        let probe = loop {
            match PgConnection::connect_with(&connect).await {
                Ok(conn) => break conn,
                Err(source) => {
                    let e = PostgresError::Connect { address: redact(&options.url), source };
                    match deadline {
                        Some(deadline) if tokio::time::Instant::now() + backoff < deadline => {
                            tracing::warn!(error = %e, retry_in = ?backoff, "PostgreSQL is unreachable; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                        _ => return Err(e),
                    }
                }
            }
        };
        let _ = probe.close().await;
        if options.migrate {
            crate::migrate::migrate(&options).await?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(connect);
        crate::migrate::check(&pool, &schema).await?;
        Ok(Self::from_pool_in(pool, schema).with_run_lease(options.run_lease))
    }

    /// Uses an existing pool, whose connections must have the journal's
    /// schema as their `search_path` (the schema is not checked; see
    /// [`migrate`](Self::migrate)). Prefer [`connect_with`](Self::connect_with).
    pub fn from_pool(pool: PgPool) -> Self {
        Self::from_pool_in(pool, crate::options::DEFAULT_SCHEMA.to_owned())
    }

    fn from_pool_in(pool: PgPool, schema: String) -> Self {
        let tasks_ready = Arc::new(Notify::new());
        let (wakes, _) = broadcast::channel(4096);
        let listener = Arc::new(ListenerTask(tokio::spawn(listen(pool.clone(), tasks_ready.clone(), wakes.clone()))));
        Self { pool, tasks_ready, wakes, run_lease: Duration::from_secs(30), schema, _listener: listener }
    }

    /// How long a run's lease lasts without renewal before another process
    /// may adopt the run (default 30 s; see [`PostgresOptions::run_lease`]).
    pub fn with_run_lease(mut self, ttl: Duration) -> Self {
        self.run_lease = ttl;
        self
    }

    /// The schema of the journal's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The pool (its connections' `search_path` is the journal's schema).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
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
