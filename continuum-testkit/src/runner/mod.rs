//! The generated-program runner: small workflow programs built from a
//! grammar — activities that succeed, fail, retry or panic; timers; signal
//! waits with and without timeouts, their signals sent early, late and
//! beyond the waits through a process that hosts nothing; children;
//! continue-as-new at any point, the first step included; sagas;
//! `patched`; `select` and `join` — run in batches on a journal while the
//! worker is crashed at random points and some runs are cancelled from
//! outside, then checked against a reference model of the semantics:
//!
//! - each program ends as the model says (or cancelled, when a cancel
//!   was acknowledged), with the model's trace;
//! - every run of its chain and every child has ended, has dense seqs, and
//!   replays through today's code to the end it recorded;
//! - each acknowledged signal is consumed once, in send order, and no
//!   signal beyond the program's waits;
//! - a chain that completed journaled exactly the model's commands (so
//!   every journal journals the same command shape).
//!
//! Generation is proptest's: a failing batch shrinks to a minimal one,
//! printed as a ready-to-paste test ([`replay_batch`]). Seeds are fixed
//! unless asked otherwise, so a run is reproducible.
//!
//! A journal runs the runner with one line, as it runs the conformance
//! suite:
//!
//! ```no_run
//! use continuum::InMemoryJournal;
//! use continuum_testkit::conformance::JournalUnderTest;
//!
//! async fn memory_journal() -> JournalUnderTest {
//!     JournalUnderTest::new(InMemoryJournal::new())
//! }
//!
//! mod memory {
//!     continuum_testkit::runner_tests!(super::memory_journal);
//! }
//! # fn main() {}
//! ```
//!
//! The factory's contract is the conformance suite's (a fresh journal per
//! call, short run leases); each batch gets its own journal.
//!
//! Environment: `CONTINUUM_RUNNER_PROGRAMS` (programs per journal; 500 by
//! default — the CI tier; `100000` for a soak), `CONTINUUM_RUNNER_BATCH`
//! (programs per batch at most, 20), `CONTINUUM_RUNNER_SEED` (a number;
//! `random` for a fresh seed, printed), `CONTINUUM_RUNNER_SHRINK` (shrink
//! steps on a failure, 200; 0 reports the first failing batch as found).

mod check;
mod drive;
mod model;
pub mod program;
mod strategy;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

pub use self::model::{Expected, Model, model};
pub use self::program::{Obs, Segment, SignalName, Step, Work, WorkMode};
pub use self::strategy::{Batch, Case, batch};
use crate::conformance::JournalUnderTest;

/// What a run of the runner did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Batches run.
    pub batches: usize,
    /// Programs run.
    pub programs: usize,
    /// Worker crashes injected.
    pub crashes: usize,
    /// Programs cancelled from outside (the cancel acknowledged).
    pub cancelled: usize,
}

/// Keeps the planned panics of generated activities out of the test
/// output; any other panic is reported as before.
fn quiet_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or_default();
            if !message.starts_with(program::PLANNED_PANIC) {
                previous(info);
            }
        }));
    });
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The seed: `CONTINUUM_RUNNER_SEED` (a number, or `random`), else a fixed
/// one.
fn seed() -> u64 {
    match std::env::var("CONTINUUM_RUNNER_SEED").ok().as_deref() {
        Some("random") => rand_seed(),
        Some(n) => n.parse().unwrap_or_else(|_| panic!("CONTINUUM_RUNNER_SEED must be a number or `random`")),
        None => 0x00c0_ffee,
    }
}

fn rand_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(1)
}

/// Runs one batch on a fresh journal from `factory` and checks every
/// program; `Err` names the first violation.
pub async fn run_batch<F, Fut>(factory: &F, batch: &Batch, tag: &str) -> Result<Tally, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = JournalUnderTest>,
{
    let subject = factory().await;
    let journal = subject.journal();
    let driven = drive::drive(journal.clone(), batch, tag).await?;
    let mut tally = Tally { batches: 1, programs: batch.cases.len(), crashes: batch.crashes.len(), cancelled: 0 };
    for (i, (case, run)) in batch.cases.iter().zip(&driven).enumerate() {
        check::check(&journal, case, run).await.map_err(|e| format!("program {i} (run {}): {e}", run.root))?;
        tally.cancelled += usize::from(run.cancelled == Some(true));
    }
    drop(journal);
    subject.finish().await;
    Ok(tally)
}

/// Runs the runner's tier on journals from `factory`: batches until
/// `CONTINUUM_RUNNER_PROGRAMS` programs have run; panics with a
/// ready-to-paste test of the minimal failing batch if one fails.
pub fn run_tier<F, Fut>(journal_name: &str, factory: F) -> Tally
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = JournalUnderTest>,
{
    let target = env_usize("CONTINUUM_RUNNER_PROGRAMS", 500);
    let per_batch = env_usize("CONTINUUM_RUNNER_BATCH", 20);
    let seed = seed();
    eprintln!("runner on {journal_name}: {target} programs, batches of up to {per_batch}, seed {seed}");
    quiet_planned_panics();
    let handle = tokio::runtime::Handle::current();
    let shrink = u32::try_from(env_usize("CONTINUUM_RUNNER_SHRINK", 200)).unwrap_or(200);
    let config = Config { cases: 1, failure_persistence: None, max_shrink_iters: shrink, ..Config::default() };
    let mut total = Tally::default();
    let counter = AtomicUsize::new(0);
    let shrinking = std::sync::atomic::AtomicBool::new(false);
    let started = std::time::Instant::now();
    while total.programs < target {
        // A runner per batch (one counts its passing cases across runs),
        // each seeded from the seed and the batch's number.
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[8..16].copy_from_slice(&(total.batches as u64).to_le_bytes());
        let mut runner = TestRunner::new_with_rng(config.clone(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
        let result = runner.run(&batch(per_batch), |b| {
            let tag = format!("{journal_name}-{}-{}", seed, counter.fetch_add(1, Ordering::Relaxed));
            let outcome = tokio::task::block_in_place(|| handle.block_on(run_batch(&factory, &b, &tag)));
            match outcome {
                Ok(t) => {
                    *tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = t;
                    Ok(())
                }
                Err(e) => {
                    if !shrinking.swap(true, Ordering::Relaxed) {
                        eprintln!("runner on {journal_name}: a violation, shrinking the batch: {e}");
                    }
                    Err(TestCaseError::fail(e))
                }
            }
        });
        match result {
            Ok(()) => {
                let t = *tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                total.batches += t.batches;
                total.programs += t.programs;
                total.crashes += t.crashes;
                total.cancelled += t.cancelled;
            }
            Err(TestError::Fail(reason, minimal)) => panic!(
                "the runner found a violation on {journal_name} (seed {seed}): {reason}\n\n\
                 A test that reproduces the minimal batch:\n\n{}",
                repro(journal_name, &minimal)
            ),
            Err(TestError::Abort(reason)) => panic!("the runner aborted on {journal_name}: {reason}"),
        }
    }
    eprintln!(
        "runner on {journal_name}: {} programs in {} batches, {} crashes, {} cancelled, {:.1} s, no violation",
        total.programs,
        total.batches,
        total.crashes,
        total.cancelled,
        started.elapsed().as_secs_f64()
    );
    total
}

/// A ready-to-paste test that runs `batch` again.
fn repro(journal_name: &str, batch: &Batch) -> String {
    let json = serde_json::to_string(batch).unwrap_or_else(|e| format!("<unserializable: {e}>"));
    format!(
        "#[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]\n\
         async fn runner_repro_{journal_name}() {{\n    \
         continuum_testkit::runner::replay_batch(super::{journal_name}_journal, r#\"{json}\"#).await;\n}}"
    )
}

/// Runs a batch printed by a failing runner (its JSON) on a journal from
/// `factory`, panicking with the violation if it still fails.
pub async fn replay_batch<F, Fut>(factory: F, json: &str)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = JournalUnderTest>,
{
    let batch: Batch = serde_json::from_str(json).unwrap_or_else(|e| panic!("not a batch: {e}"));
    let tag = format!("repro-{}", continuum::RunId::new_random());
    if let Err(e) = run_batch(&factory, &batch, &tag).await {
        panic!("{e}");
    }
}

/// Expands to the runner's test for a journal: one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` named
/// `generated_programs_match_the_model`, running [`run_tier`] on journals
/// from `$factory` (see the module docs).
#[macro_export]
macro_rules! runner_tests {
    ($factory:expr $(,)?) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn generated_programs_match_the_model() {
            let name = module_path!().rsplit("::").next().unwrap_or("journal");
            let tally = $crate::runner::run_tier(name, $factory);
            assert!(tally.programs > 0);
        }
    };
}
