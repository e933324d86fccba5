//! Shared by the process-level tests.

#![allow(dead_code)] // each test binary uses part of it

/// What an `ship_order`/`timed_order` run journals, in order: activity,
/// timer, activity, end — whatever processes died on the way.
pub const EXACT_HISTORY: [&str; 8] = [
    "run_started",
    "activity_scheduled",
    "activity_completed",
    "timer_started",
    "timer_fired",
    "activity_scheduled",
    "activity_completed",
    "run_completed",
];

/// A child process killed (SIGKILL) and reaped on drop, so a failing
/// assertion leaves no process behind.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
