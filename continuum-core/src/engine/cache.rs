//! The live-run cache: runs whose futures are held in memory between
//! wakes, the runs kept parked (owned, lease renewed, future dropped), and
//! eviction of the least recently active beyond `max_live_runs`.
//!
//! Evicting never gives a run up: its lease and timers stay, and it is
//! replayed (`recovery.rs`) when its next work arrives. A run that is
//! dirty, committing or terminal is never evicted.

use tracing::debug;

use super::Engine;
use super::run::LiveRun;
use crate::ids::RunId;

impl Engine {
    pub(super) fn insert_live(&mut self, mut live: LiveRun) {
        self.tick += 1;
        live.last_active = self.tick;
        self.parked.remove(&live.run);
        self.live.insert(live.run, live);
    }

    /// Forgets a run this engine no longer serves.
    pub(super) fn drop_run(&mut self, run: RunId) {
        if let Some(live) = self.live.remove(&run) {
            self.handed_back.extend(live.attempts);
        }
        self.parked.remove(&run);
        self.timers.clear_run(run);
    }

    pub(super) fn mark_dirty(&mut self, run: RunId) {
        if let Some(live) = self.live.get_mut(&run)
            && !live.dirty
        {
            live.dirty = true;
            self.dirty.push(run);
        }
    }

    pub(super) fn evict_if_needed(&mut self) {
        let max = self.config.max_live_runs.max(1);
        if self.live.len() <= max {
            return;
        }
        let mut by_age: Vec<(u64, RunId)> = self
            .live
            .values()
            .filter(|l| !l.dirty && !l.terminal && !self.committing.contains(&l.run))
            .map(|l| (l.last_active, l.run))
            .collect();
        by_age.sort_unstable();
        let excess = self.live.len() - max;
        for (_, run) in by_age.into_iter().take(excess) {
            // Timers stay armed and the lease is kept: the run is replayed
            // when its next work arrives.
            if let Some(live) = self.live.remove(&run) {
                self.parked.insert(run, live.lease);
            }
            self.outcomes.forget(run);
            self.stats.evictions += 1;
            debug!(run_id = %run, "live run evicted");
        }
    }
}
