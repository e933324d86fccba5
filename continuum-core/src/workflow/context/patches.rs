//! Patches: `ctx.patched(id)` lets a code change take a new branch
//! without stranding runs recorded before it.

use super::{Sited, WorkflowContext, abort};

impl WorkflowContext {
    /// Whether this run takes the new branch of a code change — the way to
    /// change a workflow's commands without stranding runs already in
    /// flight:
    ///
    /// ```ignore
    /// if ctx.patched("fraud-check") {
    ///     ctx.activity(fraud_check, order.clone()).await?;
    /// }
    /// ```
    ///
    /// A run that reaches the check live gets `true` and a
    /// [`PatchMarker`](crate::Event::PatchMarker) is journaled; replaying
    /// a history recorded before the patch existed gets `false` without
    /// consuming an event, so the run stays on the old path. The first
    /// answer for an id holds for the whole run. Once no run recorded
    /// before the patch is left, the check and the old branch can go (the
    /// markers left in histories then read as drift: keep the check until
    /// those runs have ended too). See the versioning guide.
    #[track_caller]
    pub fn patched(&self, patch: &str) -> bool {
        self.here().patched(patch)
    }
}

impl Sited<'_> {
    /// See [`WorkflowContext::patched`].
    pub fn patched(self, patch: &str) -> bool {
        let mut core = self.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        core.patched(patch, self.at)
    }
}
