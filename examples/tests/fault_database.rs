//! The fault suite (`docs/reliability.md`) with the database going away:
//! the throwaway server restarted (T4, `pg_ctl -m fast` and `-m
//! immediate`) while worker processes are killed (T1) and their
//! connections terminated (T3) under a mixed load. Its own test binary:
//! it restarts the server, which the tests of a binary share.

mod common;

use std::time::Duration;

use common::fault_suite::{self, Fault, Tier};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_load_keeps_every_invariant_while_the_database_restarts_and_workers_are_killed_and_disconnected() {
    let tier = Tier::from_env(100, Duration::from_secs(20));
    fault_suite::run(&tier, &[Fault::RestartServer, Fault::KillWorker, Fault::TerminateBackends]).await.assert_holds();
}
