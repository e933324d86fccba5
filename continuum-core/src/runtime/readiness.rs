//! The runtime's readiness, for health probes: ready → draining →
//! drained, or degraded while the journal does not answer.

use tokio::sync::watch;

/// Where a [`Runtime`](super::Runtime) stands, as a load balancer's or an
/// orchestrator's health probe wants to know it.
///
/// A runtime starts [`Ready`](Self::Ready). While its journal does not
/// answer (a database restarting, a network partition) it is
/// [`Degraded`](Self::Degraded) and goes back to `Ready` on its own once
/// the journal answers again. [`Runtime::shutdown`](super::Runtime::shutdown)
/// moves it to [`Draining`](Self::Draining) and, once every run and task it
/// held is journaled or released, to [`Drained`](Self::Drained), where it
/// stays.
///
/// ```
/// # async fn demo(runtime: continuum_core::Runtime) {
/// use continuum_core::runtime::Readiness;
/// // An HTTP readiness probe: 200 only while the runtime takes new work.
/// let status = if runtime.readiness() == Readiness::Ready { 200 } else { 503 };
/// # let _ = status;
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Readiness {
    /// Serving: takes new runs and tasks.
    Ready,
    /// Serving, but the journal did not answer the last lease renewal:
    /// runs make no progress until it does (nothing is lost meanwhile).
    Degraded {
        /// What the journal said.
        reason: String,
    },
    /// Shutting down: takes no new work, lets running attempts finish
    /// within the grace period, then lets go of its runs.
    Draining,
    /// Shut down: every result is journaled and every run and task it held
    /// is released for other processes to take at once.
    Drained,
}

impl Readiness {
    /// Whether the runtime takes new work (ready or degraded): what a
    /// liveness probe asks. A readiness probe should ask for
    /// [`Readiness::Ready`] only.
    pub fn is_serving(&self) -> bool {
        matches!(self, Self::Ready | Self::Degraded { .. })
    }
}

impl std::fmt::Display for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ready => f.write_str("ready"),
            Self::Degraded { reason } => write!(f, "degraded: {reason}"),
            Self::Draining => f.write_str("draining"),
            Self::Drained => f.write_str("drained"),
        }
    }
}

/// The runtime's readiness cell: the engine loop marks the journal's
/// health, shutdown marks the drain; a drain is never undone by a health
/// mark.
#[derive(Debug, Clone)]
pub(super) struct ReadinessCell {
    tx: watch::Sender<Readiness>,
}

impl ReadinessCell {
    pub(super) fn new() -> Self {
        Self { tx: watch::Sender::new(Readiness::Ready) }
    }

    pub(super) fn get(&self) -> Readiness {
        self.tx.borrow().clone()
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<Readiness> {
        self.tx.subscribe()
    }

    /// The journal answered (`None`) or did not (`Some(reason)`); ignored
    /// once draining.
    pub(super) fn mark_health(&self, failure: Option<String>) {
        self.tx.send_if_modified(|state| {
            let next = match (&*state, failure) {
                (Readiness::Draining | Readiness::Drained, _) => return false,
                (_, None) => Readiness::Ready,
                (_, Some(reason)) => Readiness::Degraded { reason },
            };
            if *state == next {
                return false;
            }
            *state = next;
            true
        });
    }

    pub(super) fn mark(&self, state: Readiness) {
        self.tx.send_if_modified(|current| {
            if *current == state || *current == Readiness::Drained {
                return false;
            }
            *current = state;
            true
        });
    }
}
