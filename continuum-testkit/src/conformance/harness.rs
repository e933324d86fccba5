//! What the suite's tests share: the runtime most of them start over the
//! journal under test (the shared workflows and activities registered, run
//! leases renewed every 100 ms), and the probes they wait and assert with.
//!
//! Public so that a backend's own tests (those only it can run, such as
//! corrupting a stored row) can drive the same runtime. Nothing here
//! touches the journal except through the runtime and `Journal` reads.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, HistoryEvent, Journal, WorkerConfig};

use super::children::{reports_child_end, slow_child, starts_child_at_once, tree, waits_for_slow_child};
use super::client::{adds_or_fails, waits_then_adds};
use super::continue_as_new::{billing, countdown, short_nap, spawn_then_continue};
use super::patches::patched_then_timer;
use super::runs::{activity_timer_activity, add_one, long_timer};
use super::sagas::{hold, refuse, release, two_holds_then_refused};
use super::signals::two_signals;
use super::tasks::{flaky, stamp, stamps_once, uses_flaky};

/// A runtime over `journal` with the suite's shared workflows and
/// activities registered, task leases of 2 s and run leases renewed every
/// 100 ms. A test "crashes" a process by dropping its runtime and starts
/// another over the same journal.
pub async fn runtime(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .workflow(billing)
        .workflow(adds_or_fails)
        .workflow(waits_then_adds)
        .workflow(countdown)
        .workflow(short_nap)
        .workflow(spawn_then_continue)
        .workflow(reports_child_end)
        .workflow(starts_child_at_once)
        .workflow(stamps_once)
        .activity(stamp)
        .workflow(slow_child)
        .workflow(waits_for_slow_child)
        .workflow(tree)
        .workflow(two_holds_then_refused)
        .activity(hold)
        .activity(refuse)
        .activity(release)
        .workflow(patched_then_timer)
        .workflow(activity_timer_activity)
        .workflow(two_signals)
        .workflow(uses_flaky)
        .workflow(long_timer)
        .activity(add_one)
        .activity(flaky)
        .worker_config(WorkerConfig { task_lease: Duration::from_secs(2), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(100), ..EngineConfig::default() })
        .start()
        .await
        .expect("runtime starts")
}

/// The type names of a history's events, in order.
pub fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

/// Waits (up to 5 s) until `run` has journaled an event of type `kind`;
/// panics if it never does.
pub async fn wait_for(journal: &Arc<dyn Journal>, run: continuum::RunId, kind: &str) {
    for _ in 0..500 {
        if journal.history(run).await.unwrap().iter().any(|e| e.event.type_name() == kind) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {run} never journaled {kind}");
}
