//! Recorded values: the clock, randomness, UUIDs and `side_effect` —
//! produced once live, journaled as `ValueRecorded`, returned from the
//! history on replay.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::core::{Issued, Recorded, RunCore};
use super::{Sited, WorkflowContext, abort};
use crate::error::RunFailure;
use crate::event::{CommandKind, Event, ValueKind};
use crate::payload::Payload;

impl WorkflowContext {
    /// The current time, recorded once and replayed after.
    #[track_caller]
    pub fn now(&self) -> DateTime<Utc> {
        self.here().now()
    }

    /// Today's date (UTC), recorded once and replayed after.
    #[track_caller]
    pub fn today(&self) -> NaiveDate {
        self.here().today()
    }

    /// A random v4 UUID, recorded once and replayed after.
    #[track_caller]
    pub fn uuid4(&self) -> Uuid {
        self.here().uuid4()
    }

    /// A random `f64` in `[0, 1)`, recorded once and replayed after.
    #[track_caller]
    pub fn random(&self) -> f64 {
        self.here().random()
    }

    /// A random `u64`, recorded once and replayed after.
    #[track_caller]
    pub fn random_u64(&self) -> u64 {
        self.here().random_u64()
    }

    /// Runs `f` once and records its value; replay returns the recorded
    /// value without calling `f`. For short, non-failing reads of the
    /// outside world; anything that can fail or take time belongs in an
    /// activity.
    #[track_caller]
    pub fn side_effect<T: Serialize + DeserializeOwned>(&self, f: impl FnOnce() -> T) -> T {
        self.here().side_effect(f)
    }
}

impl Sited<'_> {
    /// See [`WorkflowContext::now`].
    pub fn now(self) -> DateTime<Utc> {
        self.record(ValueKind::Now, |core| core.now)
    }

    /// See [`WorkflowContext::today`].
    pub fn today(self) -> NaiveDate {
        self.now().date_naive()
    }

    /// See [`WorkflowContext::uuid4`].
    pub fn uuid4(self) -> Uuid {
        self.record(ValueKind::Uuid, |_| Uuid::new_v4())
    }

    /// See [`WorkflowContext::random`].
    pub fn random(self) -> f64 {
        self.record(ValueKind::Random, |_| rand::random::<f64>())
    }

    /// See [`WorkflowContext::random_u64`].
    pub fn random_u64(self) -> u64 {
        self.record(ValueKind::Random, |_| rand::random::<u64>())
    }

    /// See [`WorkflowContext::side_effect`].
    pub fn side_effect<T: Serialize + DeserializeOwned>(self, f: impl FnOnce() -> T) -> T {
        {
            let mut core = self.ctx.lock();
            if !core.enter() {
                drop(core);
                abort();
            }
            if !core.is_replaying() {
                core.in_side_effect = true;
            }
        }
        // The closure runs without the lock so it may read the context's
        // plain accessors; effects inside it are refused by `enter`.
        let mut produced = None;
        let replaying = self.ctx.lock().is_replaying();
        if !replaying {
            let value = f();
            self.ctx.lock().in_side_effect = false;
            produced = Some(value);
        }
        self.record(ValueKind::SideEffect, move |_| produced.take().unwrap_or_else(|| unreachable_value()))
    }

    fn record<T: Serialize + DeserializeOwned>(self, kind: ValueKind, produce: impl FnOnce(&RunCore) -> T) -> T {
        let mut core = self.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        let mut live_value = None;
        let mut encode_error = None;
        let max = core.max_payload;
        let issued = core.issue(CommandKind::Value, kind.as_str(), self.at, |core| {
            let value = produce(core);
            let payload = match Payload::encode(&value).and_then(|p| p.within(max, kind.as_str())) {
                Ok(p) => p,
                Err(e) => {
                    encode_error = Some(e);
                    Payload::unit()
                }
            };
            live_value = Some(value);
            Event::ValueRecorded { site: self.at.id(), kind, value: payload }
        });
        let Some(issued) = issued else {
            drop(core);
            abort();
        };
        if let Some(error) = encode_error {
            core.fatal =
                Some(RunFailure::Error { message: format!("{} value could not be recorded: {error}", kind.as_str()) });
            drop(core);
            abort();
        }
        match issued {
            Issued::Live(_) => match live_value {
                Some(v) => v,
                None => {
                    drop(core);
                    abort()
                }
            },
            Issued::Replayed(seq, Recorded::Value(value)) => match value.decode::<T>() {
                Ok(v) => v,
                Err(error) => {
                    core.fatal = Some(RunFailure::HistoryDecode { run: core.run, seq, error });
                    drop(core);
                    abort();
                }
            },
            Issued::Replayed(..) => {
                drop(core);
                abort()
            }
        }
    }
}

/// `side_effect` records only live values; replay never calls the
/// producer, so this is never reached.
fn unreachable_value<T>() -> T {
    abort()
}
