//! The engine's settings and counters, and the hand-off of tasks to this
//! process's own workers.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::limits::{DEFAULT_MAX_CHILD_DEPTH, DEFAULT_MAX_PAYLOAD};

/// Counters that show where the engine's work goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Runs rebuilt by replaying their history.
    pub runs_replayed: u64,
    /// History events consumed by those replays.
    pub events_replayed: u64,
    /// Run writes (one run's events and side effects) journaled.
    pub appends: u64,
    /// Journal commits; each carries the writes of many runs.
    pub commits: u64,
    /// Runs evicted from memory to respect the live-run bound.
    pub evictions: u64,
}

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Live runs kept in memory; beyond it the least recently active are
    /// evicted (the engine keeps their leases) and replayed when next
    /// needed.
    pub max_live_runs: usize,
    /// How often the runtime renews the leases of its runs and looks for
    /// runs orphaned by a crashed process. Keep it well under the
    /// journal's run-lease TTL (30 s for PostgreSQL by default).
    pub lease_renewal: std::time::Duration,
    /// The largest payload (workflow input, signal body, activity input)
    /// accepted, in bytes of JSON. Larger ones are refused where they are
    /// made — `start` and `signal` return a typed error, an activity call
    /// returns an `ActivityError` of kind `Payload` to the workflow — and
    /// nothing is journaled. Keep it stable: a run replayed under a smaller
    /// cap than it ran with can drift.
    pub max_payload_bytes: usize,
    /// The most runs' writes one journal commit carries. Work that arrives
    /// while commits are in flight is gathered into the next one (group
    /// commit), up to this many runs.
    pub max_batch: usize,
    /// Journal commits in flight at once (each on its own database
    /// connection). A run is in at most one of them.
    pub max_in_flight: usize,
    /// How deep child runs may nest: a run that would start a child
    /// deeper than this fails (checked when the child would be created,
    /// so the cancel cascade always reaches every descendant).
    pub max_child_depth: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_live_runs: 10_000,
            lease_renewal: std::time::Duration::from_secs(5),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD,
            max_batch: 512,
            max_in_flight: 2,
            max_child_depth: DEFAULT_MAX_CHILD_DEPTH,
        }
    }
}

/// Activity tasks the engine may lease to its own process's workers as it
/// journals them, so a task needs no claim: the engine hands it over right
/// after the commit (see [`Engine::take_dispatch`](super::Engine::take_dispatch)).
#[derive(Debug, Clone)]
pub struct LocalDispatch {
    /// Tasks handed to the local workers and not yet finished; the engine
    /// adds, the workers subtract.
    pub in_hand: Arc<AtomicUsize>,
    /// Above this many tasks in hand, new tasks are left for any worker
    /// to claim.
    pub limit: usize,
    /// The lease a task is inserted with (the workers renew it).
    pub task_lease: std::time::Duration,
}
