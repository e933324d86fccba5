//! How to reach the journal: [`PostgresOptions`] — the database, the
//! schema the journal's tables live in, the pool, the run lease, and
//! whether to apply the migrations on connect.

use std::time::Duration;

/// The schema the journal's tables live in unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "continuum";

/// How [`PostgresJournal::connect_with`](crate::PostgresJournal::connect_with)
/// connects.
///
/// Every table, sequence and function of the journal lives in one schema
/// (default [`DEFAULT_SCHEMA`], `continuum`), with its own
/// `_sqlx_migrations` table there: an application's own sqlx migrations
/// (in `public`, or any other schema) and the journal's never see each
/// other, whichever runs first. The journal's connections use that schema
/// alone as their `search_path`.
///
/// ```no_run
/// # async fn demo() -> Result<(), continuum_postgres::PostgresError> {
/// use std::time::Duration;
/// use continuum_postgres::{PostgresJournal, PostgresOptions};
///
/// let journal = PostgresJournal::connect_with(
///     PostgresOptions::new("postgres://app@db/app")
///         .schema("orders_journal")
///         .max_connections(32)
///         .migrate(true)
///         .retry_for(Duration::from_secs(60)),
/// )
/// .await?;
/// # let _ = journal; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresOptions {
    pub(crate) url: String,
    pub(crate) schema: String,
    pub(crate) max_connections: u32,
    pub(crate) run_lease: Duration,
    pub(crate) migrate: bool,
    pub(crate) retry_for: Option<Duration>,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &crate::connection::redact(&self.url))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("run_lease", &self.run_lease)
            .field("migrate", &self.migrate)
            .field("retry_for", &self.retry_for)
            .finish()
    }
}

impl PostgresOptions {
    /// Options for the database at `url` (`postgres://user:password@host:port/db`):
    /// schema `continuum`, 16 connections, a 30 s run lease, no migration
    /// on connect, one connection attempt.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 16,
            run_lease: Duration::from_secs(30),
            migrate: false,
            retry_for: None,
        }
    }

    /// The schema of the journal's tables: a plain PostgreSQL identifier
    /// (ASCII letters, digits and `_`, not starting with a digit, at most
    /// 63 bytes); anything else is refused at connect with
    /// [`PostgresError::InvalidSchema`](crate::PostgresError::InvalidSchema).
    /// Several journals may share a database, each in its own schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the pool opens (default 16; at least 2: one
    /// listens for the journal's notifications).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a run's lease lasts without renewal before another process
    /// may adopt the run (default 30 s). The runtime renews every
    /// `EngineConfig::lease_renewal` (5 s by default); keep this several
    /// times longer.
    pub fn run_lease(mut self, ttl: Duration) -> Self {
        self.run_lease = ttl;
        self
    }

    /// Applies the journal's migrations on connect (creating the schema if
    /// needed) before checking it — for development and single-binary
    /// deployments. Without it (the default), connecting to a database
    /// whose journal schema is missing or older than this build fails
    /// with [`PostgresError::NotMigrated`](crate::PostgresError::NotMigrated).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Keeps trying to reach the database for up to `give_up_after`
    /// (backoff from 100 ms doubling to 5 s, each failure logged) — for
    /// workers that may start before their database.
    pub fn retry_for(mut self, give_up_after: Duration) -> Self {
        self.retry_for = Some(give_up_after);
        self
    }

    /// The schema name, checked.
    pub(crate) fn checked_schema(&self) -> Result<&str, crate::PostgresError> {
        let s = self.schema.as_str();
        let valid = !s.is_empty()
            && s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !s.as_bytes()[0].is_ascii_digit();
        if valid { Ok(s) } else { Err(crate::PostgresError::InvalidSchema { schema: s.to_owned() }) }
    }
}

#[cfg(test)]
mod tests {
    use super::PostgresOptions;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["continuum", "_x", "app_journal_2", &"a".repeat(63)] {
            assert!(PostgresOptions::new("postgres://x").schema(good).checked_schema().is_ok(), "{good}");
        }
        for bad in ["", "2x", "a-b", "a b", "\"x\"", "x;drop", "é", &"a".repeat(64)] {
            assert!(PostgresOptions::new("postgres://x").schema(bad).checked_schema().is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", PostgresOptions::new("postgres://app:s3cret@db/x"));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
