//! The engine: owns live runs, delivers resolutions one at a time, polls,
//! and commits each step to the journal before acting on it.
//!
//! A live run's future stays in memory between wakes, so the hot path never
//! replays; a run is replayed from its history only when it is not live
//! (after a crash, an eviction, or on another process). Effects are acted
//! on (activity tasks handed to workers, timers armed, mailbox signals
//! consumed) only after the events that ask for them are journaled.
//!
//! The engine is driven by a runtime (the tokio [`Runtime`](crate::Runtime))
//! or by the testkit, which drives it synchronously.
//!
//! [`Engine`] (this file) owns the state; each concern is a file holding
//! its part of `impl Engine`:
//!
//! | file | owns |
//! |---|---|
//! | `start.rs` | client starts, children and successors staged for creation |
//! | `versions.rs` | registering the versions this process serves; the audit |
//! | `recovery.rs` | loading runs at start, replaying a run that is not live, reloads |
//! | `delivery.rs` | task results, signals, child outcomes and due timers reaching runs |
//! | `step.rs` | one step of a live run: deliver, poll, stage what it asked for |
//! | `leases.rs` | renewing run leases, adopting orphaned runs |
//! | `cancel.rs` | cancelling a run and its descendants |
//! | `drain.rs` | shutting down: no new work, every run released |
//! | `end.rs` | ending a run not held live (cancel from outside, a refused write) |
//! | `cache.rs` | the live-run cache, parked runs, eviction |
//! | `commit.rs` → `prepare.rs` → `settle.rs` | the commit pipeline: batch, build writes, act on the answer |
//! | `run.rs` | one live run: its future, inbox, mailbox and replay |
//! | `timers.rs` | the timer wheel |
//! | `outcomes.rs` | outcomes published to waiters |
//! | `replay.rs` | offline replay of a history (golden tests, checks) |
//! | `config.rs` | settings and counters |

mod cache;
mod cancel;
mod commit;
mod config;
mod delivery;
mod drain;
mod end;
mod leases;
mod outcomes;
mod prepare;
mod recovery;
mod replay;
pub(crate) mod run;
mod settle;
mod start;
mod step;
pub(crate) mod timers;
mod versions;

pub use self::commit::Committed;
pub use self::config::{EngineConfig, EngineStats, LocalDispatch};
pub(crate) use self::outcomes::Outcomes;
pub use self::replay::{Replayed, replay_history};
pub use self::start::StartRequest;
pub use crate::limits::{DEFAULT_MAX_CHILD_DEPTH, DEFAULT_MAX_PAYLOAD};
pub use crate::outcome::RunOutcome;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use self::run::LiveRun;
use self::timers::TimerWheel;
use crate::clock::Clock;
use crate::error::StartError;
use crate::ids::RunId;
use crate::journal::{ActivityTask, AttemptResult, Journal, Lease};
use crate::limits::Limits;
use crate::registry::Registry;

/// The engine. See the module docs.
pub struct Engine {
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    live: HashMap<RunId, LiveRun>,
    /// Runs this engine owns without holding their future (evicted): their
    /// leases are kept and renewed, and they are replayed on their next
    /// work.
    parked: HashMap<RunId, Lease>,
    /// Runs whose last commit failed with an unknown outcome: reloaded
    /// from the journal before anything else is written to them.
    reload: BTreeSet<RunId>,
    /// Live runs with work staged since their last commit, in order.
    dirty: Vec<RunId>,
    /// Runs with a commit in flight: not in another until it ends.
    committing: HashSet<RunId>,
    in_flight: FuturesUnordered<BoxFuture<'static, Committed>>,
    /// Workflow ids of runs staged for creation in the coming commit.
    staged_ids: HashMap<String, RunId>,
    /// Client starts of a workflow id already staged, in arrival order:
    /// decided when the staged one settles.
    deferred_starts: HashMap<String, std::collections::VecDeque<(RunId, StartRequest)>>,
    start_results: Vec<(RunId, Result<RunId, StartError>)>,
    local: Option<LocalDispatch>,
    dispatch: Vec<ActivityTask>,
    /// Activities scheduled here that no local worker runs (warned once).
    unrunnable: HashSet<String>,
    /// Parked runs that have work waiting in the journal (a child ended).
    wake_soon: Vec<RunId>,
    /// Runs whose write the journal rejects for good, with what it said:
    /// failed with `RunFailure::WriteRefused` by
    /// [`fail_refused_runs`](Self::fail_refused_runs).
    refused: Vec<(Lease, String)>,
    /// Shutting down: takes no new runs (no adoption, no starts) and lets
    /// go of those it holds.
    draining: bool,
    /// Runs of an adoption batch, taken over and read by one
    /// [`Journal::load_runs`] call, with their pending work: `load`
    /// consumes them instead of reading each run again.
    prefetched: HashMap<RunId, (crate::journal::LoadedRun, crate::journal::PendingWork)>,
    /// This engine's identity in the journal's version registrations.
    process: uuid::Uuid,
    /// Workflow versions other live processes serve (and this one may not).
    elsewhere: HashSet<(String, crate::ids::VersionHash)>,
    /// Final attempt results of this process's workers that could not be
    /// journaled with their run (its commit failed): to record on the
    /// task with [`Journal::finish_attempt`] (see
    /// [`take_handed_back`](Self::take_handed_back)).
    handed_back: Vec<(ActivityTask, AttemptResult)>,
    timers: TimerWheel,
    outcomes: Arc<Outcomes>,
    config: EngineConfig,
    tick: u64,
    stats: EngineStats,
}

impl Engine {
    /// An engine over `journal`.
    pub fn new(
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
        registry: Arc<Registry>,
        config: EngineConfig,
    ) -> Self {
        Self {
            journal,
            clock,
            registry,
            live: HashMap::new(),
            parked: HashMap::new(),
            reload: BTreeSet::new(),
            dirty: Vec::new(),
            committing: HashSet::new(),
            in_flight: FuturesUnordered::new(),
            staged_ids: HashMap::new(),
            deferred_starts: HashMap::new(),
            start_results: Vec::new(),
            local: None,
            dispatch: Vec::new(),
            unrunnable: HashSet::new(),
            wake_soon: Vec::new(),
            refused: Vec::new(),
            draining: false,
            prefetched: HashMap::new(),
            process: uuid::Uuid::new_v4(),
            elsewhere: HashSet::new(),
            handed_back: Vec::new(),
            timers: TimerWheel::default(),
            outcomes: Arc::new(Outcomes::default()),
            config,
            tick: 0,
            stats: EngineStats::default(),
        }
    }

    /// Leases new activity tasks to this process's workers as they are
    /// journaled (see [`LocalDispatch`]). Without it every task waits in
    /// the journal to be claimed.
    pub fn set_local_dispatch(&mut self, local: LocalDispatch) {
        self.local = Some(local);
    }

    /// Tasks leased to this process by the commits so far, to run now.
    pub fn take_dispatch(&mut self) -> Vec<ActivityTask> {
        std::mem::take(&mut self.dispatch)
    }

    /// Attempt results that are not journaled with their run (a retry, a
    /// run another process serves, a write that failed): the caller
    /// records each on its task with [`Journal::finish_attempt`].
    pub fn take_handed_back(&mut self) -> Vec<(ActivityTask, AttemptResult)> {
        std::mem::take(&mut self.handed_back)
    }

    /// How the starts staged with [`stage_start`](Self::stage_start) ended,
    /// once committed.
    pub fn take_start_results(&mut self) -> Vec<(RunId, Result<RunId, StartError>)> {
        std::mem::take(&mut self.start_results)
    }

    pub(crate) fn outcomes(&self) -> Arc<Outcomes> {
        self.outcomes.clone()
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Counters since the engine started.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Runs currently held in memory.
    pub fn live_runs(&self) -> usize {
        self.live.len()
    }

    /// When the earliest armed timer is due.
    pub fn next_timer_due(&self) -> Option<DateTime<Utc>> {
        self.timers.next_due()
    }

    /// Armed timers.
    pub fn armed_timers(&self) -> usize {
        self.timers.len()
    }

    /// Whether runs wait to be reloaded after a failed commit.
    pub fn has_reloads(&self) -> bool {
        !self.reload.is_empty()
    }

    fn limits(&self) -> Limits {
        Limits { max_payload: self.config.max_payload_bytes, max_child_depth: self.config.max_child_depth }
    }
}
