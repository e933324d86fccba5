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
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::rows::{backend, secs, storable};

pub(crate) async fn register_versions(
    pool: &PgPool,
    process: Uuid,
    versions: &[(String, VersionHash)],
    alive_for: Duration,
) -> Result<(), JournalError> {
    let (names, hashes): (Vec<&str>, Vec<Vec<u8>>) = versions.iter().map(|(n, v)| (n.as_str(), v.0.to_vec())).unzip();
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
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn served_versions(pool: &PgPool, except: Uuid) -> Result<Vec<(String, VersionHash)>, JournalError> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT DISTINCT workflow, version FROM continuum_workflow_versions \
         WHERE process <> $1 AND alive_until > now()",
    )
    .bind(except)
    .fetch_all(pool)
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
