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

/// Runs `pg_worker <url> finish <workflow_id>` to the end and returns its
/// `key=value` output lines; panics (with the output) if it fails.
pub fn finish(worker: &str, url: &str, workflow_id: &str, env: &[(&str, &str)]) -> Vec<(String, String)> {
    let out = std::process::Command::new(worker)
        .args([url, "finish", workflow_id])
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run the finishing worker");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "finishing worker failed: {stdout}");
    stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// The value of `key` in [`finish`]'s output.
pub fn value(lines: &[(String, String)], key: &str) -> String {
    lines.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

pub mod fault_suite;
