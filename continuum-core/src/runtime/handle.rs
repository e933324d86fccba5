//! A typed handle to one run: its id, its result, signals and cancel.

use std::time::Duration;

use serde::Serialize;

use super::Client;
use crate::error::{AwaitError, CancelError, SignalSendError};
use crate::ids::RunId;
use crate::outcome::RunOutcome;
use crate::workflow::Workflow;

/// A typed handle to a run of `W`.
pub struct RunHandle<W: Workflow> {
    client: Client,
    run: RunId,
    _workflow: std::marker::PhantomData<fn() -> W>,
}

impl<W: Workflow> std::fmt::Debug for RunHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle").field("run", &self.run).field("workflow", &W::NAME).finish()
    }
}

impl<W: Workflow> RunHandle<W> {
    pub(super) fn new(client: Client, run: RunId) -> Self {
        Self { client, run, _workflow: std::marker::PhantomData }
    }

    /// The run's id.
    pub fn id(&self) -> RunId {
        self.run
    }

    /// Waits up to `timeout` for the run's output.
    pub async fn result(&self, timeout: Duration) -> Result<W::Output, AwaitError> {
        decode_outcome::<W>(self.run, self.client.await_outcome(self.run, timeout).await?)
    }

    /// Sends a signal to the run.
    pub async fn signal<T: Serialize>(&self, name: &str, body: &T) -> Result<(), SignalSendError> {
        self.client.signal(self.run, name, body).await
    }

    /// Cancels the run.
    pub async fn cancel(&self, reason: Option<String>) -> Result<(), CancelError> {
        self.client.cancel(self.run, reason).await
    }
}

/// Turns a run's outcome into `W`'s output.
pub fn decode_outcome<W: Workflow>(run: RunId, outcome: RunOutcome) -> Result<W::Output, AwaitError> {
    match outcome {
        RunOutcome::Completed(p) => p.decode().map_err(|error| AwaitError::Decode { run, error }),
        RunOutcome::Failed(failure) => Err(AwaitError::Failed { run, failure }),
        RunOutcome::Cancelled(reason) => Err(AwaitError::Cancelled { run, reason }),
    }
}
