//! The commit pipeline's driver: gathering staged runs into batches
//! (group commit), ordering a new child or successor into the commit of
//! the run that asked for it, keeping up to `max_in_flight` commits in
//! flight, and waiting for them.
//!
//! Each batch is taken from the runs by `prepare.rs` and acted on, once
//! the journal answers, by `settle.rs`. Nothing a write asks for (a task
//! to run, a timer, an outcome) is acted on before the journal confirms
//! it, and a run is in at most one commit at a time.

use futures::StreamExt;

use super::Engine;
use super::prepare::Plan;
use crate::error::JournalError;
use crate::event::Event;
use crate::ids::RunId;
use crate::journal::Written;

/// A commit that ended, to hand to [`Engine::settle`].
pub struct Committed {
    pub(super) plans: Vec<Plan>,
    pub(super) result: Result<Vec<Result<Written, JournalError>>, JournalError>,
}

impl std::fmt::Debug for Committed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committed").field("runs", &self.plans.len()).finish_non_exhaustive()
    }
}

impl Engine {
    /// Commits everything staged and waits for every commit in flight:
    /// what each run produced since its last commit is journaled (many
    /// runs per journal call, see [`flush`](Self::flush)) and acted on.
    pub async fn commit(&mut self) {
        loop {
            while self.flush() {}
            if !self.settle_next().await {
                if self.wake_soon.is_empty() && self.refused.is_empty() {
                    break;
                }
                self.stage_local_wakes().await;
                self.fail_refused_runs().await;
            }
        }
    }

    /// Starts a journal commit of the staged runs that have no commit in
    /// flight, unless [`EngineConfig::max_in_flight`](super::EngineConfig::max_in_flight) commits are in flight
    /// already. Returns whether one started. Its outcome is acted on by
    /// [`settle`](Self::settle) once [`next_commit`](Self::next_commit)
    /// yields it.
    ///
    /// Several commits may be in flight, each carrying many runs (group
    /// commit); a run is in at most one of them, so its writes apply in
    /// order. Nothing a write asks for (a task to run, a timer, an outcome)
    /// is acted on before the journal confirms it.
    pub fn flush(&mut self) -> bool {
        if self.dirty.is_empty() || self.in_flight.len() >= self.config.max_in_flight.max(1) {
            return false;
        }
        let max = self.config.max_batch.max(1);
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        // A child being created goes in the commit that journals its
        // parent's `ChildStarted`, never before it (nor alone after a
        // parent write that was refused).
        let mut children = Vec::new();
        for run in std::mem::take(&mut self.dirty) {
            if self.committing.contains(&run) {
                waiting.push(run);
            } else if let Some(parent) = self.created_with(run) {
                children.push((run, parent));
            } else if batch.len() < max {
                batch.push(run);
            } else {
                waiting.push(run);
            }
        }
        loop {
            let before = children.len();
            children.retain(|&(run, parent)| {
                if batch.contains(&parent) {
                    batch.push(run);
                    false
                } else {
                    true
                }
            });
            if children.len() == before {
                break;
            }
        }
        for (run, parent) in children {
            let parent_pending = self.committing.contains(&parent) || waiting.contains(&parent);
            if parent_pending || self.created_with(parent).is_some() {
                waiting.push(run);
            } else {
                batch.push(run);
            }
        }
        self.dirty = waiting;
        let took = !batch.is_empty();
        let (writes, plans) = self.prepare(batch);
        if writes.is_empty() {
            // Nothing to send. Try again at once only if this call took
            // runs off the dirty list (they had nothing to write) and others
            // may go now; a run waiting for a commit in flight — its own,
            // or its parent's — waits for that commit to settle. (Answering
            // "try again" without having taken anything would spin the
            // engine loop forever.)
            return took && self.dirty.iter().any(|r| !self.committing.contains(r));
        }
        self.stats.commits += 1;
        self.stats.appends += writes.len() as u64;
        self.committing.extend(plans.iter().map(|p| p.run));
        let journal = self.journal.clone();
        // Its own task, so it proceeds while the engine stages more work.
        let commit = tokio::spawn(async move { journal.commit(writes).await });
        self.in_flight.push(Box::pin(async move {
            let result =
                commit.await.unwrap_or_else(|e| Err(JournalError::Backend(format!("commit task failed: {e}"))));
            Committed { plans, result }
        }));
        true
    }

    /// For a run not yet created, the run whose write must be in the same
    /// commit: the predecessor of a successor, the parent of a child.
    pub(super) fn created_with(&self, run: RunId) -> Option<RunId> {
        let live = self.live.get(&run)?;
        live.pending_create.as_ref()?;
        let core = live.core();
        let continued_from = match core.history.first().map(|e| &e.event) {
            Some(Event::RunStarted { continued_from, .. }) => *continued_from,
            _ => None,
        };
        continued_from.or(core.parent.map(|p| p.run))
    }

    /// Commits in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Waits for the next commit in flight to end; `None` if none is in
    /// flight. Cancel-safe: a commit is yielded once.
    pub async fn next_commit(&mut self) -> Option<Committed> {
        self.in_flight.next().await
    }

    async fn settle_next(&mut self) -> bool {
        match self.next_commit().await {
            Some(committed) => {
                self.settle(committed);
                true
            }
            None => false,
        }
    }
}
