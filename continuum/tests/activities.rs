//! Activities through the testkit: retries up to the policy's attempt
//! count, exhaustion handed to the workflow as a value, non-retryable
//! errors, panics and timeouts as failed attempts, mocks, and activities
//! the worker does not know.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use continuum::prelude::*;
use continuum::{ActivityErrorKind, Event, HistoryEvent};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

/// The single resolution event of a history with one activity call.
fn resolution(history: &[HistoryEvent]) -> Event {
    let mut found = history.iter().filter(|e| e.event.resolves().is_some());
    let event = found.next().expect("the activity was resolved").event.clone();
    assert!(found.next().is_none(), "one resolution expected: {history:?}");
    event
}

/// Bumps `counter` and returns the 1-based number of this call.
fn attempt_number(counter: &AtomicU32) -> u32 {
    counter.fetch_add(1, Ordering::SeqCst) + 1
}

// --- fails twice, then succeeds ---------------------------------------------

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

#[activity(retry(max_attempts = 3, initial = "1s"))]
async fn flaky_twice(n: u32) -> Result<u32, ActivityError> {
    let attempt = attempt_number(&FLAKY_CALLS);
    if attempt < 3 { Err(ActivityError::retryable(format!("attempt {attempt} failed"))) } else { Ok(n + 100) }
}

#[workflow]
async fn calls_flaky_twice(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(flaky_twice, n).await?)
}

#[test]
fn activity_failing_twice_then_succeeding_with_three_attempts_completes() {
    let mut env = TestEnv::builder().workflow(calls_flaky_twice).activity(flaky_twice).build();
    let run = env.start(calls_flaky_twice, 5);
    assert_eq!(env.result(&run), Some(Ok(105)));
    assert_eq!(FLAKY_CALLS.load(Ordering::SeqCst), 3);

    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "activity_scheduled", "activity_completed", "run_completed"]);
    match resolution(&history) {
        Event::ActivityCompleted { scheduled, attempts, output } => {
            assert_eq!(scheduled, history[1].seq);
            assert_eq!(attempts, 3);
            assert_eq!(output, continuum::Payload::encode(&105u32).unwrap());
        }
        other => panic!("expected activity_completed, got {other:?}"),
    }
}

// --- exhausts a per-call limit of two attempts -------------------------------

static ALWAYS_DOWN_CALLS: AtomicU32 = AtomicU32::new(0);

#[activity(retry(max_attempts = 5, initial = "1s"))]
async fn always_down(_n: u32) -> Result<u32, ActivityError> {
    let attempt = attempt_number(&ALWAYS_DOWN_CALLS);
    Err(ActivityError::retryable(format!("attempt {attempt} failed")))
}

#[workflow]
async fn gives_up_after_two(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    match ctx.activity(always_down, n).max_attempts(2).await {
        Ok(v) => Ok(format!("got {v}")),
        Err(e) => Ok(format!("gave up: {}", e.message)),
    }
}

#[test]
fn activity_exhausting_two_attempts_hands_the_error_to_the_workflow() {
    let mut env = TestEnv::builder().workflow(gives_up_after_two).activity(always_down).build();
    let run = env.start(gives_up_after_two, 1);
    assert_eq!(env.result(&run), Some(Ok("gave up: attempt 2 failed".to_string())));
    assert_eq!(ALWAYS_DOWN_CALLS.load(Ordering::SeqCst), 2, "the per-call limit overrides the declared 5");

    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "activity_scheduled", "activity_failed", "run_completed"]);
    assert_eq!(
        resolution(&history),
        Event::ActivityFailed {
            scheduled: history[1].seq,
            attempts: 2,
            error: ActivityError::retryable("attempt 2 failed"),
        }
    );
}

// --- non-retryable ------------------------------------------------------------

static DECLINED_CALLS: AtomicU32 = AtomicU32::new(0);

#[activity(retry(max_attempts = 3, initial = "1s"))]
async fn declines_card(_n: u32) -> Result<u32, ActivityError> {
    attempt_number(&DECLINED_CALLS);
    Err(ActivityError::non_retryable("card declined"))
}

#[workflow]
async fn charges_card(ctx: &WorkflowContext, n: u32) -> Result<Result<u32, ActivityError>, WorkflowError> {
    Ok(ctx.activity(declines_card, n).await)
}

#[test]
fn non_retryable_error_is_not_retried() {
    let mut env = TestEnv::builder().workflow(charges_card).activity(declines_card).build();
    let run = env.start(charges_card, 1);
    assert_eq!(env.result(&run), Some(Ok(Err(ActivityError::non_retryable("card declined")))));
    assert_eq!(DECLINED_CALLS.load(Ordering::SeqCst), 1);

    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "activity_scheduled", "activity_failed", "run_completed"]);
    assert_eq!(
        resolution(&history),
        Event::ActivityFailed {
            scheduled: history[1].seq,
            attempts: 1,
            error: ActivityError::non_retryable("card declined"),
        }
    );
}

// --- panics once ----------------------------------------------------------------

static PANICKY_CALLS: AtomicU32 = AtomicU32::new(0);

#[activity(retry(max_attempts = 3, initial = "1s"))]
async fn panics_once(n: u32) -> Result<u32, ActivityError> {
    let attempt = attempt_number(&PANICKY_CALLS);
    if attempt == 1 {
        panic!("activity blew up on attempt {attempt}");
    }
    Ok(n * 2)
}

#[workflow]
async fn calls_panics_once(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(panics_once, n).await?)
}

#[test]
fn panicking_activity_is_a_failed_attempt_and_is_retried() {
    let mut env = TestEnv::builder().workflow(calls_panics_once).activity(panics_once).build();
    let run = env.start(calls_panics_once, 21);
    assert_eq!(env.result(&run), Some(Ok(42)));
    assert_eq!(PANICKY_CALLS.load(Ordering::SeqCst), 2);

    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "activity_scheduled", "activity_completed", "run_completed"]);
    assert!(matches!(resolution(&history), Event::ActivityCompleted { attempts: 2, .. }), "{:?}", resolution(&history));
}

// --- mocked -------------------------------------------------------------------

static REAL_BODY_CALLS: AtomicU32 = AtomicU32::new(0);

#[activity]
async fn charge_for_real(cents: u32) -> Result<String, ActivityError> {
    attempt_number(&REAL_BODY_CALLS);
    Ok(format!("really charged {cents}"))
}

#[workflow]
async fn checkout(ctx: &WorkflowContext, cents: u32) -> Result<String, WorkflowError> {
    Ok(ctx.activity(charge_for_real, cents).await?)
}

#[test]
fn activity_mock_replaces_the_real_body() {
    let mut env = TestEnv::builder()
        .workflow(checkout)
        .mock(charge_for_real, |cents| Ok(format!("mock charged {cents}")))
        .build();
    let run = env.start(checkout, 250);
    assert_eq!(env.result(&run), Some(Ok("mock charged 250".to_string())));
    assert_eq!(REAL_BODY_CALLS.load(Ordering::SeqCst), 0, "the real body never ran");
    let history = env.history(run.id());
    assert!(matches!(resolution(&history), Event::ActivityCompleted { attempts: 1, .. }), "{:?}", resolution(&history));
}

// --- not registered ---------------------------------------------------------------

#[activity]
async fn never_registered(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[workflow]
async fn calls_unregistered(ctx: &WorkflowContext, n: u32) -> Result<Result<u32, ActivityError>, WorkflowError> {
    Ok(ctx.activity(never_registered, n).await)
}

#[test]
fn unknown_activity_reaches_the_workflow_as_a_typed_error() {
    let mut env = TestEnv::builder().workflow(calls_unregistered).build();
    let run = env.start(calls_unregistered, 1);
    let out = env.result(&run).expect("the run ended").expect("the run completed");
    let err = out.expect_err("an unregistered activity cannot succeed");
    assert_eq!(err.kind, ActivityErrorKind::UnknownActivity);
    assert!(err.message.contains("never_registered"), "{err}");

    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "activity_scheduled", "activity_failed", "run_completed"]);
    assert!(
        matches!(&resolution(&history), Event::ActivityFailed { error, .. } if error.kind == ActivityErrorKind::UnknownActivity),
        "{:?}",
        resolution(&history)
    );
}

// --- times out ------------------------------------------------------------------

static SLOW_CALLS: AtomicU32 = AtomicU32::new(0);

#[activity(retry(max_attempts = 1), timeout = "50ms")]
async fn too_slow(n: u32) -> Result<u32, ActivityError> {
    attempt_number(&SLOW_CALLS);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(n)
}

#[workflow]
async fn calls_too_slow(ctx: &WorkflowContext, n: u32) -> Result<Result<u32, ActivityError>, WorkflowError> {
    Ok(ctx.activity(too_slow, n).await)
}

#[test]
fn activity_timeout_is_a_failed_attempt() {
    let mut env = TestEnv::builder().workflow(calls_too_slow).activity(too_slow).build();
    let began = Instant::now();
    let run = env.start(calls_too_slow, 1);
    let elapsed = began.elapsed();
    let out = env.result(&run).expect("the run ended").expect("the run completed");
    let err = out.expect_err("the attempt ran past its timeout");
    assert_eq!(err.kind, ActivityErrorKind::TimedOut);
    assert!(!err.non_retryable);
    assert_eq!(SLOW_CALLS.load(Ordering::SeqCst), 1, "max_attempts = 1: no retry");
    assert!(elapsed < Duration::from_millis(200), "the attempt was cut off at its timeout, took {elapsed:?}");

    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "activity_scheduled", "activity_failed", "run_completed"]);
    assert!(
        matches!(&resolution(&history), Event::ActivityFailed { attempts: 1, error, .. } if error.kind == ActivityErrorKind::TimedOut),
        "{:?}",
        resolution(&history)
    );
}
