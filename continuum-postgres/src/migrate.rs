//! The schema: the migrations in the workspace's `migrations/` directory,
//! embedded, and [`PostgresJournal::migrate`] to apply them.
//!
//! The schema changes only through those migration files, so the CLI and
//! the library apply the same thing; nothing here reads or writes a run.

use crate::connection::{PostgresError, PostgresJournal};

/// The migrations in the workspace's `migrations/` directory, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

impl PostgresJournal {
    /// Applies Continuum's schema (idempotent; safe from several processes
    /// at once — sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}
