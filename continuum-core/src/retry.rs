//! Retry policy for activities: exponential backoff with jitter, capped.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an activity is retried.
///
/// The delay before attempt `n + 1` is `initial × multiplier^(n-1)`, capped
/// at `max`, then jittered down by up to `jitter` of itself — so the cap is
/// never exceeded and workers that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in total, including the first. `1` means no retry.
    pub max_attempts: u32,
    /// Delay before the second attempt.
    #[serde(with = "millis")]
    pub initial: Duration,
    /// Growth factor between delays.
    pub multiplier: f64,
    /// Upper bound of any delay.
    #[serde(with = "millis")]
    pub max: Duration,
    /// Fraction of each delay (0.0–1.0) that is randomised away.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// Three attempts, 1s then 2s, capped at 1 minute, 20% jitter.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(60),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Sets `max_attempts`.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The delay after failed attempt `attempt` (1-based), given a uniform
    /// random `unit` in `[0, 1)`.
    pub fn delay_after(&self, attempt: u32, unit: f64) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(exp);
        let capped = base.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(capped * (1.0 - jitter)).unwrap_or(self.max)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap_with_jitter() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(5),
            jitter: 0.5,
        };
        assert_eq!(p.delay_after(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay_after(2, 0.0), Duration::from_secs(2));
        assert_eq!(p.delay_after(3, 0.0), Duration::from_secs(4));
        assert_eq!(p.delay_after(4, 0.0), Duration::from_secs(5));
        for attempt in 1..30 {
            for unit in [0.0, 0.3, 0.999] {
                assert!(p.delay_after(attempt, unit) <= p.max);
            }
        }
        assert_eq!(p.delay_after(4, 0.999_999), Duration::from_secs_f64(5.0 * (1.0 - 0.5 * 0.999_999)));
    }
}
