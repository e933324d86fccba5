//! A PostgreSQL [`Journal`] for Continuum: runs, histories, signal
//! mailboxes and activity tasks survive the process.
//!
//! The runtime and engine are the same as over the in-memory journal; this
//! crate adds durability and fencing only:
//!
//! - the engine's writes to many runs go in one transaction (the group
//!   commit, [`Journal::commit`]) that locks each run's row and compares the
//!   writer's lease token with the one in force — a writer whose lease was
//!   taken over gets [`JournalError::Fenced`] and nothing it sent for that
//!   run is applied; a write the database rejects is refused alone
//!   ([`JournalError::WriteRefused`]), never with the rest of the commit;
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
//! // The journal's tables live in schema `continuum`, beside the app's own.
//! let journal = PostgresJournal::connect_and_migrate("postgres://postgres@127.0.0.1/app").await?;
//! // continuum::Runtime::builder().journal(Arc::new(journal)) …
//! # Ok(()) }
//! ```
//!
//! [`Journal`]: continuum_core::journal::Journal
//! [`JournalError::Fenced`]: continuum_core::error::JournalError::Fenced
//! [`Journal::commit`]: continuum_core::journal::Journal::commit
//! [`JournalError::WriteRefused`]: continuum_core::error::JournalError::WriteRefused

// One file per concern, so each is found by name: `connection` (the
// handle, connecting), `options` (what to connect to), `migrate` (the
// schema: applying, moving, checking), `listener` (LISTEN/NOTIFY),
// `leases` (run leases and adoption), `commit` (the group commit: every
// history write), `tasks` (claims, heartbeats, attempts), `mailbox`
// (signals, and the work waiting for runs), `queries` (reading runs and
// histories), `versions` (which process serves which version), `rows`
// (row decoding and conversions); `journal` maps the `Journal` trait onto
// them.
mod commit;
mod connection;
mod journal;
mod leases;
mod listener;
mod mailbox;
mod migrate;
mod options;
mod queries;
mod rows;
mod tasks;
mod versions;

pub use crate::connection::{PostgresError, PostgresJournal};
pub use crate::migrate::{MIGRATOR, migrate};
pub use crate::options::{DEFAULT_SCHEMA, PostgresOptions};
