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
    pub(crate) pool: PgPool,
    /// Woken by the listener when a task is announced.
    pub(crate) tasks_ready: Arc<Notify>,
    /// Run hints from the listener, for the runtimes on this journal.
    pub(crate) wakes: broadcast::Sender<RunWake>,
    pub(crate) run_lease: Duration,
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
        let listener = Arc::new(ListenerTask(tokio::spawn(listen(pool.clone(), tasks_ready.clone(), wakes.clone()))));
        Self { pool, tasks_ready, wakes, run_lease: Duration::from_secs(30), _listener: listener }
    }

    /// How long a run's lease lasts without renewal before another process
    /// may adopt the run (default 30 s). The runtime renews every
    /// `EngineConfig::lease_renewal` (5 s by default); keep this several
    /// times longer.
    pub fn with_run_lease(mut self, ttl: Duration) -> Self {
        self.run_lease = ttl;
        self
    }

    /// The pool.
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
