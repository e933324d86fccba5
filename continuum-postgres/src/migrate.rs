//! The schema: the migrations in the workspace's `migrations/` directory,
//! embedded; [`migrate`] to apply them in the journal's own schema (with
//! its own `_sqlx_migrations` table), moving a journal an older version
//! kept in `public`; and the check a connection makes that the schema is
//! there and current.
//!
//! The schema changes only through those migration files, so the CLI and
//! the library apply the same thing; nothing here reads or writes a run.

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Connection, Executor};

use crate::connection::{PostgresError, PostgresJournal};
use crate::options::PostgresOptions;

/// The migrations in the workspace's `migrations/` directory, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Applies the journal's migrations to the database and schema of
/// `options` (creating the schema if needed), and nothing else: no pool
/// is kept, no listener started. Idempotent, and safe from several
/// processes at once (sqlx takes an advisory lock). This is what
/// [`PostgresOptions::migrate`] does on connect, and what an operator
/// runs before a deploy.
///
/// A journal an older version kept in `public` (its tables there, its
/// rows in `public._sqlx_migrations`) is moved into the schema first,
/// rows and all, in one transaction.
pub async fn migrate(options: &PostgresOptions) -> Result<(), PostgresError> {
    let schema = options.checked_schema()?;
    let connect = crate::connection::connect_options(options)?;
    let mut conn = PgConnection::connect_with(&connect)
        .await
        .map_err(|source| PostgresError::Connect { address: crate::connection::redact(&options.url), source })?;
    prepare_schema(&mut conn, schema).await?;
    MIGRATOR.run_direct(&mut conn).await?;
    let _ = conn.close().await;
    Ok(())
}

impl PostgresJournal {
    /// Applies the journal's migrations in its schema (see [`migrate`]).
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        let mut conn = self.pool.acquire().await.map_err(PostgresError::Schema)?;
        prepare_schema(&mut conn, &self.schema).await?;
        MIGRATOR.run_direct(&mut *conn).await?;
        Ok(())
    }
}

/// Creates the schema, and moves a journal kept in `public` by an older
/// version into it.
async fn prepare_schema(conn: &mut PgConnection, schema: &str) -> Result<(), PostgresError> {
    let mut tx = conn.begin().await.map_err(PostgresError::Schema)?;
    // One process at a time decides whether to move the old tables.
    tx.execute("SELECT pg_advisory_xact_lock(7458395201)").await.map_err(PostgresError::Schema)?;
    tx.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str()).await.map_err(PostgresError::Schema)?;
    if schema != "public" && legacy_in_public(&mut tx, schema).await? {
        move_legacy(&mut tx, schema).await?;
    }
    tx.commit().await.map_err(PostgresError::Schema)?;
    Ok(())
}

/// Whether `public` holds a journal and `schema` holds none yet.
async fn legacy_in_public(tx: &mut PgConnection, schema: &str) -> Result<bool, PostgresError> {
    let (in_public, in_schema): (bool, bool) = sqlx::query_as(
        "SELECT to_regclass('public.continuum_runs') IS NOT NULL, \
                to_regclass(format('%I.continuum_runs', $1::text)) IS NOT NULL",
    )
    .bind(schema)
    .fetch_one(&mut *tx)
    .await
    .map_err(PostgresError::Schema)?;
    Ok(in_public && !in_schema)
}

/// Moves the journal's tables, sequences and functions from `public` to
/// `schema`, and its rows of `public._sqlx_migrations` to the schema's own.
async fn move_legacy(tx: &mut PgConnection, schema: &str) -> Result<(), PostgresError> {
    tracing::info!(schema, "moving the journal's tables from `public` to its own schema");
    // Tables first: their indexes, constraints and owned sequences follow.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') \
           AND c.relname LIKE 'continuum\\_%' ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(PostgresError::Schema)?;
    for table in &tables {
        tx.execute(format!("ALTER TABLE public.\"{table}\" SET SCHEMA \"{schema}\"").as_str())
            .await
            .map_err(PostgresError::Schema)?;
    }
    let sequences: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' \
           AND c.relname LIKE 'continuum\\_%' ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(PostgresError::Schema)?;
    for sequence in &sequences {
        tx.execute(format!("ALTER SEQUENCE public.\"{sequence}\" SET SCHEMA \"{schema}\"").as_str())
            .await
            .map_err(PostgresError::Schema)?;
    }
    let functions: Vec<String> = sqlx::query_scalar(
        "SELECT p.oid::regprocedure::text FROM pg_proc p \
         WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'continuum\\_%'",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(PostgresError::Schema)?;
    for function in &functions {
        tx.execute(format!("ALTER FUNCTION {function} SET SCHEMA \"{schema}\"").as_str())
            .await
            .map_err(PostgresError::Schema)?;
    }
    // The journal's rows of the shared migrations table become the
    // schema's own; the application's stay where they are.
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *tx)
        .await
        .map_err(PostgresError::Schema)?;
    if has_table {
        let ours: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        tx.execute(
            format!(
                "CREATE TABLE IF NOT EXISTS \"{schema}\"._sqlx_migrations \
                 (LIKE public._sqlx_migrations INCLUDING ALL)"
            )
            .as_str(),
        )
        .await
        .map_err(PostgresError::Schema)?;
        sqlx::query(&format!(
            "WITH moved AS (DELETE FROM public._sqlx_migrations WHERE version = ANY($1) RETURNING *) \
             INSERT INTO \"{schema}\"._sqlx_migrations SELECT * FROM moved"
        ))
        .bind(&ours)
        .execute(&mut *tx)
        .await
        .map_err(PostgresError::Schema)?;
    }
    tracing::info!(
        schema,
        tables = tables.len(),
        sequences = sequences.len(),
        functions = functions.len(),
        "journal moved"
    );
    Ok(())
}

/// Checks that the journal's schema is there and has every migration this
/// build knows; [`PostgresError::NotMigrated`] says what to run if not.
pub(crate) async fn check(pool: &PgPool, schema: &str) -> Result<(), PostgresError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass(format('%I._sqlx_migrations', $1::text)) IS NOT NULL")
        .bind(schema)
        .fetch_one(pool)
        .await
        .map_err(PostgresError::Schema)?;
    let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default();
    let applied: Vec<i64> = if exists {
        sqlx::query_scalar(&format!("SELECT version FROM \"{schema}\"._sqlx_migrations WHERE success ORDER BY version"))
            .fetch_all(pool)
            .await
            .map_err(PostgresError::Schema)?
    } else {
        Vec::new()
    };
    let missing = MIGRATOR.iter().any(|m| !applied.contains(&m.version));
    if missing {
        return Err(PostgresError::NotMigrated {
            schema: schema.to_owned(),
            applied: applied.last().copied(),
            expected,
        });
    }
    if let Some(newer) = applied.iter().find(|v| **v > expected) {
        tracing::warn!(
            schema,
            applied = newer,
            known = expected,
            "the journal's schema is newer than this build; upgrade this process"
        );
    }
    Ok(())
}
