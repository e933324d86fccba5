//! The journal conformance suite: one behaviour suite every [`Journal`]
//! runs, through the real runtime and straight through the trait.
//!
//! A journal crate runs the whole suite with one line in a test file —
//! [`conformance_tests!`](crate::conformance_tests) with a factory — which
//! expands to one `#[tokio::test]` per test of the suite, named after it:
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
//!     continuum_testkit::conformance_tests!(super::memory_journal);
//! }
//! # fn main() {}
//! ```
//!
//! # The factory
//!
//! Anything callable with no argument that returns a future of a
//! [`JournalUnderTest`] — an `async fn` path or an `|| async { … }`
//! closure. Each test calls it once, and it must hand back:
//!
//! - a **fresh, empty, migrated** journal: tests run in parallel and pick
//!   fixed workflow ids (`"fifo"`, `"gc-ok"`), so no two tests may share
//!   storage, and no test may find runs it did not make;
//! - **run leases short enough for adoption tests** — a run whose runtime
//!   was dropped must be adoptable within a second or so; PostgreSQL's
//!   factory uses `with_run_lease(Duration::from_millis(500))` (a journal
//!   whose leases never expire, like the in-memory one, has nothing to
//!   set);
//! - whatever must happen once the test is over, as a cleanup
//!   ([`JournalUnderTest::cleanup_with`]): dropping a test database,
//!   deleting a file. It runs after the test's journal handles are
//!   dropped, and only if the test passed.
//!
//! The calling crate needs `tokio` (with `macros` and `rt-multi-thread`)
//! among its dev-dependencies, as any `#[tokio::test]` does.
//!
//! # The tests
//!
//! Each is a `pub async fn name(journal: Arc<dyn Journal>)` in the module
//! of its area — [`runs`] (runs and crashes), [`signals`], [`tasks`]
//! (activities and tasks), [`commit`] (the group commit), [`children`],
//! [`sagas`], [`patches`], [`continue_as_new`], [`client`], [`shutdown`],
//! [`timeouts`] — with the workflows and
//! activities it uses beside it. Tests that crash a process drop its
//! runtime and start another over the same journal. [`harness`] holds the
//! runtime and probes they share, public for a backend's own tests.
//!
//! A new test is a function in its area's module plus its name in
//! `conformance_tests!` — the one list of the suite's tests.

use std::future::Future;
use std::sync::Arc;

use continuum::Journal;
use futures::future::BoxFuture;

pub mod children;
pub mod client;
pub mod commit;
pub mod continue_as_new;
pub mod harness;
pub mod patches;
pub mod runs;
pub mod sagas;
pub mod shutdown;
pub mod signals;
pub mod tasks;
pub mod timeouts;
mod writes;

/// A journal for one conformance test, and what to do once the test is
/// over: what a [`conformance_tests!`](crate::conformance_tests) factory
/// returns.
pub struct JournalUnderTest {
    journal: Arc<dyn Journal>,
    cleanup: Option<BoxFuture<'static, ()>>,
}

impl JournalUnderTest {
    /// A journal with nothing to clean up after.
    pub fn new(journal: impl Journal) -> Self {
        Self { journal: Arc::new(journal), cleanup: None }
    }

    /// Runs `cleanup` once the test has passed and this journal handle is
    /// dropped — for instance dropping the test's database.
    #[must_use]
    pub fn cleanup_with(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    /// A handle on the journal, for the test.
    pub fn journal(&self) -> Arc<dyn Journal> {
        self.journal.clone()
    }

    /// Drops this handle on the journal, then runs the cleanup.
    pub async fn finish(self) {
        let Self { journal, cleanup } = self;
        drop(journal);
        if let Some(cleanup) = cleanup {
            cleanup.await;
        }
    }
}

impl std::fmt::Debug for JournalUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalUnderTest").field("cleanup", &self.cleanup.is_some()).finish_non_exhaustive()
    }
}

/// Expands to the journal conformance suite: one
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per test
/// of [`conformance`](crate::conformance), named after it, each getting a
/// fresh journal from `$factory` (see the module docs for the factory's
/// contract), running the test on it, then cleaning up.
///
/// Invoke it once per journal, inside a module named after the journal
/// (`mod postgres { … }`), so each test's name says where it ran.
///
/// This is the one list of the suite's tests: adding a test is adding it
/// here.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_test! { $factory;
            runs::crash_resume_replays_and_finishes_with_the_exact_history,
            signals::signal_sent_before_its_await_is_consumed_and_same_name_signals_are_fifo,
            tasks::activity_failing_twice_then_succeeding_completes_with_three_attempts,
            runs::cancel_during_a_timer_ends_the_run_cancelled_with_nothing_after,
            signals::duplicate_ids_and_signals_to_missing_or_ended_runs_are_typed_errors,
            runs::a_fenced_writer_cannot_append,
            tasks::a_crash_during_the_last_attempt_fails_the_task_without_rerunning_it,
            tasks::an_idempotency_key_reuses_the_stored_result,
            runs::hostile_ids_and_names_are_stored_verbatim_or_refused,
            commit::a_group_commit_checks_each_write_on_its_own,
            tasks::a_task_leased_to_its_writer_is_claimed_only_once_the_lease_lapses,
            tasks::a_claim_takes_only_the_activities_asked_for,
            commit::an_ended_run_drops_its_tasks_even_in_a_batch_with_running_ones,
            patches::a_patch_marker_is_journaled_once_and_replayed_after_a_crash,
            sagas::a_saga_compensates_most_recent_first_across_a_crash,
            children::a_child_finishes_once_when_its_parent_crashes,
            children::cancelling_a_parent_cancels_its_three_level_tree,
            continue_as_new::a_signal_to_a_chain_root_reaches_the_tip_and_await_on_the_root_gets_the_end,
            children::a_child_beyond_the_depth_limit_fails_the_run_that_would_start_it,
            sagas::a_parallel_saga_journals_a_failing_compensation_and_ends,
            continue_as_new::a_run_that_continues_in_its_first_step_finishes_and_spares_the_runs_beside_it,
            continue_as_new::a_child_started_in_the_step_that_continues_is_cancelled_with_the_chain,
            children::a_child_cancelled_by_a_process_not_holding_it_reports_to_its_parent,
            children::a_start_refused_as_a_duplicate_creates_no_child_run,
            runs::concurrent_starts_of_one_id_create_one_run_and_refusals_name_it,
            tasks::tasks_sharing_a_key_settle_with_the_first_result_stored,
            tasks::runs_sharing_an_idempotency_key_journal_one_result,
            client::a_client_starts_runs_that_a_running_worker_picks_up_at_once,
            client::a_workflow_id_is_reused_after_its_chain_ended_as_the_policy_allows,
            client::a_start_attaches_to_or_terminates_the_running_chain_on_request,
            client::signal_with_start_starts_or_signals_the_running_chain,
            client::a_signal_delivery_id_is_delivered_once_per_chain,
            timeouts::a_chain_past_its_execution_timeout_fails_timed_out,
            timeouts::a_parent_past_its_execution_timeout_cancels_its_children,
            shutdown::a_graceful_shutdown_finishes_attempts_and_hands_runs_over_at_once,
            shutdown::a_shutdown_without_grace_gives_running_attempts_back_uncounted,
        }
    };
}

/// One test function per `area::name` of [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ($factory:expr; $($area:ident::$name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let subject: $crate::conformance::JournalUnderTest = ($factory)().await;
                $crate::conformance::$area::$name(subject.journal()).await;
                subject.finish().await;
            }
        )*
    };
}
