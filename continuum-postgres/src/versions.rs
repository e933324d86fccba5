//! Version registration: which workflow versions each live process
//! serves (`register_versions`, renewed like a lease) and which versions
//! other processes serve (`served_versions`).
//!
//! Adoption reads this table (see `leases`) to leave a run to a process
//! that serves its exact version. This module only writes
//! `continuum_workflow_versions`: it never touches a run, a task or a
//! signal.

use std::time::Duration;

use continuum_core::error::JournalError;
use continuum_core::ids::VersionHash;
use continuum_core::journal::ServedVersion;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::rows::{backend, secs, storable};

pub(crate) async fn register_versions(
    pool: &PgPool,
    process: Uuid,
    versions: &[ServedVersion],
    alive_for: Duration,
) -> Result<(), JournalError> {
    let names: Vec<&str> = versions.iter().map(|v| v.workflow.as_str()).collect();
    let hashes: Vec<Vec<u8>> = versions.iter().map(|v| v.version.0.to_vec()).collect();
    let current: Vec<bool> = versions.iter().map(|v| v.current).collect();
    for name in &names {
        storable("workflow name", name)?;
    }
    sqlx::query(
        "INSERT INTO continuum_workflow_versions (workflow, version, process, alive_until, current) \
         SELECT n, v, $3, now() + make_interval(secs => $4), c \
         FROM unnest($1::text[], $2::bytea[], $5::bool[]) AS u(n, v, c) \
         ORDER BY n, v \
         ON CONFLICT (workflow, version, process) DO UPDATE \
         SET alive_until = excluded.alive_until, current = excluded.current",
    )
    .bind(&names)
    .bind(&hashes)
    .bind(process)
    .bind(secs(alive_for))
    .bind(&current)
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn served_versions(pool: &PgPool, except: Uuid) -> Result<Vec<ServedVersion>, JournalError> {
    let rows: Vec<(String, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT workflow, version, bool_or(current) FROM continuum_workflow_versions \
         WHERE process <> $1 AND alive_until > now() GROUP BY workflow, version ORDER BY workflow, version",
    )
    .bind(except)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.into_iter()
        .map(|(workflow, v, current)| {
            let v: [u8; 32] =
                v.try_into().map_err(|_| JournalError::Backend(format!("version of `{workflow}` is not 32 bytes")))?;
            Ok(ServedVersion { workflow, version: VersionHash(v), current })
        })
        .collect()
}
