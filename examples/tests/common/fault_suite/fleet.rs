//! The worker processes (`fault_worker`) of a fault run: spawned,
//! killed, paused, resumed and restarted by the injectors, and restarted
//! by the supervisor when one exits on its own. Each process writes its
//! log to a file of its own, read back at the end.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WORKER: &str = env!("CARGO_BIN_EXE_fault_worker");

/// What every worker process is started with.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The database.
    pub url: String,
    /// Runs in the load.
    pub runs: u32,
    /// When run 0 is due, in milliseconds since the Unix epoch.
    pub start_at_ms: u64,
    /// Over how long the starts are spread.
    pub spread: Duration,
    /// The run lease each worker takes.
    pub run_lease: Duration,
}

/// One worker's place in the fleet.
#[derive(Debug)]
struct Slot {
    /// The running process; `None` while it is down.
    child: Option<Child>,
    /// Stopped with SIGSTOP and not resumed yet.
    paused: bool,
    /// Processes started in this slot so far.
    generation: u32,
}

/// The worker processes; every one still running is killed on drop.
#[derive(Debug)]
pub struct Fleet {
    spec: Spec,
    logs: PathBuf,
    slots: Vec<Slot>,
    /// Exits nobody caused, with the log of the process that exited.
    pub unexpected_exits: Vec<String>,
}

impl Fleet {
    /// Starts `workers` processes, logging into `logs`.
    pub fn start(spec: Spec, workers: u32, logs: &Path) -> Fleet {
        let slots = (0..workers).map(|_| Slot { child: None, paused: false, generation: 0 }).collect();
        let mut fleet = Fleet { spec, logs: logs.to_owned(), slots, unexpected_exits: Vec::new() };
        for i in 0..fleet.slots.len() {
            fleet.spawn(i);
        }
        fleet
    }

    /// Workers in the fleet.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The `application_name` worker `i` connects with, so its backends
    /// can be told apart in `pg_stat_activity`.
    pub fn application_name(i: usize) -> String {
        format!("fault-worker-{i}")
    }

    fn spawn(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        slot.generation += 1;
        let log = self.logs.join(format!("worker-{i}-{}.log", slot.generation));
        let log = File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let url = with_application_name(&self.spec.url, &Self::application_name(i));
        let child = Command::new(WORKER)
            .arg(url)
            .args(["--index", &i.to_string(), "--workers", &self.slots.len().to_string()])
            .args(["--runs", &self.spec.runs.to_string(), "--start-at-ms", &self.spec.start_at_ms.to_string()])
            .args(["--spread-ms", &self.spec.spread.as_millis().to_string()])
            .args(["--run-lease-ms", &self.spec.run_lease.as_millis().to_string()])
            .env("RUST_LOG", "warn,continuum_core::engine::leases=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn a fault worker");
        self.slots[i].child = Some(child);
    }

    /// A worker that is up and not paused, chosen with `pick` from their
    /// count.
    fn pick_running(&self, pick: impl FnOnce(usize) -> usize) -> Option<usize> {
        let up: Vec<usize> =
            (0..self.slots.len()).filter(|&i| self.slots[i].child.is_some() && !self.slots[i].paused).collect();
        (!up.is_empty()).then(|| up[pick(up.len())])
    }

    /// Kills a running worker with SIGKILL (T1) and reaps it; it stays
    /// down until [`Fleet::restart`]. Returns which one.
    pub fn kill(&mut self, pick: impl FnOnce(usize) -> usize) -> Option<usize> {
        let i = self.pick_running(pick)?;
        let mut child = self.slots[i].child.take()?;
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        Some(i)
    }

    /// Starts worker `i` again if it is down.
    pub fn restart(&mut self, i: usize) {
        if self.slots[i].child.is_none() {
            self.spawn(i);
        }
    }

    /// Stops a running worker with SIGSTOP (T5). Returns which one.
    pub fn pause(&mut self, pick: impl FnOnce(usize) -> usize) -> Option<usize> {
        let i = self.pick_running(pick)?;
        let pid = self.slots[i].child.as_ref()?.id();
        signal(pid, "-STOP");
        self.slots[i].paused = true;
        Some(i)
    }

    /// Lets a paused worker go on (SIGCONT).
    pub fn resume(&mut self, i: usize) {
        if let (Some(child), true) = (&self.slots[i].child, self.slots[i].paused) {
            signal(child.id(), "-CONT");
        }
        self.slots[i].paused = false;
    }

    /// Restarts every worker that exited on its own (not killed by
    /// [`Fleet::kill`]), noting the exit and the end of its log.
    pub fn supervise(&mut self) {
        for i in 0..self.slots.len() {
            let exited = match self.slots[i].child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(format!("unknown ({e})")),
                Some(Ok(None)) | None => None,
            };
            if let Some(status) = exited {
                let log = self.logs.join(format!("worker-{i}-{}.log", self.slots[i].generation));
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                self.unexpected_exits.push(format!("worker {i} exited ({status}): {tail:?}"));
                self.slots[i].child = None;
                self.spawn(i);
            }
        }
    }

    /// Once faults have stopped: every paused worker resumed, every
    /// worker down started again.
    pub fn heal(&mut self) {
        for i in 0..self.slots.len() {
            self.resume(i);
            self.restart(i);
        }
    }

    /// Kills every worker (nothing writes to the journal afterwards).
    pub fn stop(&mut self) {
        for slot in &mut self.slots {
            if let Some(mut child) = slot.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            slot.paused = false;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(pid: u32, which: &str) {
    let status = Command::new("kill").args([which, &pid.to_string()]).status().expect("run kill");
    assert!(status.success(), "kill {which} {pid} failed");
}

/// `url` with `application_name` set.
pub fn with_application_name(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

/// What the worker logs say, across every process of the run.
#[derive(Debug, Default)]
pub struct LogFindings {
    /// Runs a worker found taken over when it renewed its leases.
    pub leases_lost: u64,
    /// Writes the journal refused for a stale fencing token.
    pub stale_writes: u64,
    /// Panics, with the line.
    pub panics: Vec<String>,
}

/// Reads every log in `dir`.
pub fn read_logs(dir: &Path) -> LogFindings {
    let mut found = LogFindings::default();
    let entries = std::fs::read_dir(dir).map(|d| d.filter_map(Result::ok).collect::<Vec<_>>()).unwrap_or_default();
    for entry in entries {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            found.leases_lost += u64::from(line.contains("lease taken over by another process"));
            found.stale_writes += u64::from(line.contains("stale journal write rejected"));
            if line.contains("panicked") {
                found.panics.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}
