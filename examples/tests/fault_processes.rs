//! The fault suite (`docs/reliability.md`) with process and connection
//! faults: worker processes killed (T1), paused past their run lease
//! (T5), and their database connections terminated (T3) under a mixed
//! load. The server stays up: its restarts are in `fault_database.rs`.

mod common;

use std::time::Duration;

use common::fault_suite::{self, Fault, Tier};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_load_keeps_every_invariant_while_workers_are_killed_paused_and_disconnected() {
    let tier = Tier::from_env(100, Duration::from_secs(20));
    fault_suite::run(&tier, &[Fault::KillWorker, Fault::PauseWorker, Fault::TerminateBackends]).await.assert_holds();
}
