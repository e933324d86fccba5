//! Sagas: compensations registered by completed activities run most
//! recent first (one at a time or all at once), are journaled, and a
//! compensation that fails for good is journaled and reported without
//! ending the run.

use std::sync::Mutex;

use continuum::prelude::*;
use continuum::{ActivityErrorKind, Event, HistoryEvent};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

/// Compensations run, per trip (tests run in parallel).
static UNDONE: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn undone(trip: &str) -> Vec<String> {
    UNDONE.lock().unwrap().iter().filter(|(t, _)| t == trip).map(|(_, what)| what.clone()).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Trip {
    name: String,
    parallel: bool,
    hotel_refund_fails: bool,
}

#[activity]
async fn book_flight(trip: Trip) -> Result<(String, String), ActivityError> {
    Ok((trip.name.clone(), format!("flight:{}", trip.name)))
}

#[activity]
async fn book_hotel(trip: Trip) -> Result<(String, String), ActivityError> {
    let tag = if trip.hotel_refund_fails { "hotel-stuck" } else { "hotel" };
    Ok((trip.name.clone(), format!("{tag}:{}", trip.name)))
}

#[activity(retry(max_attempts = 1))]
async fn charge_card(trip: Trip) -> Result<String, ActivityError> {
    Err(ActivityError::non_retryable(format!("card declined for {}", trip.name)))
}

#[activity]
async fn cancel_flight(booking: (String, String)) -> Result<(), ActivityError> {
    UNDONE.lock().unwrap().push(booking);
    Ok(())
}

#[activity(retry(max_attempts = 2, initial = "1ms"))]
async fn cancel_hotel(booking: (String, String)) -> Result<(), ActivityError> {
    if booking.1.starts_with("hotel-stuck") {
        return Err(ActivityError::retryable("the hotel does not answer"));
    }
    UNDONE.lock().unwrap().push(booking);
    Ok(())
}

#[workflow]
async fn book_trip(ctx: &WorkflowContext, trip: Trip) -> Result<String, WorkflowError> {
    let result = async {
        let flight = ctx.activity(book_flight, trip.clone()).compensate_with(cancel_flight).await?;
        let hotel = ctx.activity(book_hotel, trip.clone()).compensate_with(cancel_hotel).await?;
        ctx.activity(charge_card, trip.clone()).await?;
        Ok::<_, WorkflowError>(format!("{} + {}", flight.1, hotel.1))
    }
    .await;
    if let Err(error) = result {
        let report = if trip.parallel { ctx.compensate_all().parallel().await } else { ctx.compensate_all().await };
        let failed: Vec<&str> = report.failed.iter().map(|(a, _)| a.as_str()).collect();
        return Err(WorkflowError::msg(format!("{error}; undone: {:?}; failed: {failed:?}", report.completed)));
    }
    result
}

fn env() -> TestEnv {
    TestEnv::builder()
        .workflow(book_trip)
        .activity(book_flight)
        .activity(book_hotel)
        .activity(charge_card)
        .activity(cancel_flight)
        .activity(cancel_hotel)
        .paranoid(true)
        .build()
}

fn trip(name: &str, parallel: bool, hotel_refund_fails: bool) -> Trip {
    Trip { name: name.into(), parallel, hotel_refund_fails }
}

#[test]
fn a_failed_third_step_compensates_the_second_then_the_first() {
    let mut env = env();
    let run = env.start(book_trip, trip("seq", false, false));
    let err = env.result(&run).expect("ended").expect_err("the charge failed");
    assert!(matches!(&err, continuum::AwaitError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains(r#"undone: ["cancel_hotel", "cancel_flight"]; failed: []"#), "{err}");
    assert_eq!(undone("seq"), ["hotel:seq", "flight:seq"], "most recent first");
    let history = env.history(run.id());
    assert_eq!(
        kinds(&history)[7..],
        [
            "compensation_scheduled",
            "compensation_completed",
            "compensation_scheduled",
            "compensation_completed",
            "run_failed"
        ]
    );
    let compensated: Vec<(String, u64)> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::CompensationScheduled { activity, compensates, .. } => Some((activity.clone(), *compensates)),
            _ => None,
        })
        .collect();
    // The hotel booking was scheduled at seq 4, the flight at seq 2.
    assert_eq!(compensated, [("cancel_hotel".to_string(), 4), ("cancel_flight".to_string(), 2)]);
}

#[test]
fn in_parallel_every_compensation_is_scheduled_before_any_ends() {
    let mut env = env();
    let run = env.start(book_trip, trip("par", true, false));
    let err = env.result(&run).expect("ended").expect_err("the charge failed");
    assert!(err.to_string().contains(r#"undone: ["cancel_hotel", "cancel_flight"]"#), "{err}");
    assert_eq!(
        kinds(&env.history(run.id()))[7..],
        [
            "compensation_scheduled",
            "compensation_scheduled",
            "compensation_completed",
            "compensation_completed",
            "run_failed"
        ]
    );
}

#[test]
fn a_failing_compensation_is_journaled_and_the_others_still_run() {
    for parallel in [false, true] {
        let name = format!("stuck-{parallel}");
        let mut env = env();
        let run = env.start(book_trip, trip(&name, parallel, true));
        let err = env.result(&run).expect("ended").expect_err("the charge failed");
        assert!(err.to_string().contains(r#"undone: ["cancel_flight"]; failed: ["cancel_hotel"]"#), "{err}");
        assert_eq!(undone(&name), [format!("flight:{name}")]);
        let history = env.history(run.id());
        let failed = history.iter().find_map(|e| match &e.event {
            Event::CompensationFailed { attempts, error, .. } => Some((*attempts, error.clone())),
            _ => None,
        });
        let (attempts, error) = failed.expect("the failure is journaled");
        assert_eq!(attempts, 2, "compensations retry like activities");
        assert_eq!(error.kind, ActivityErrorKind::Failed);
        assert_eq!(kinds(&history).last(), Some(&"run_failed"), "the run ended with its own error");
    }
}

#[activity]
async fn reserve(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[activity]
async fn release(n: u32) -> Result<(), ActivityError> {
    UNDONE.lock().unwrap().push(("release".into(), n.to_string()));
    Ok(())
}

#[workflow]
async fn undo_one_twice(ctx: &WorkflowContext, n: u32) -> Result<(String, String, usize), WorkflowError> {
    let held = ctx.activity(reserve, n).compensate_with(release).await?;
    ctx.compensate(held.compensation()).await?;
    let again = ctx.compensate(held.compensation()).await.expect_err("ran already");
    let report = ctx.compensate_all().await;
    Ok((held.compensation().activity().to_string(), again.to_string(), report.completed.len()))
}

#[test]
fn compensating_one_reference_twice_runs_it_once() {
    let mut env =
        TestEnv::builder().workflow(undo_one_twice).activity(reserve).activity(release).paranoid(true).build();
    let run = env.start(undo_one_twice, 9001);
    let (activity, again, after) = env.result(&run).expect("ended").expect("completed");
    assert_eq!(activity, "release");
    assert_eq!(again, "compensation `release` is not pending: it ran already");
    assert_eq!(after, 0, "compensate_all finds nothing left");
    let scheduled =
        env.history(run.id()).iter().filter(|e| matches!(e.event, Event::CompensationScheduled { .. })).count();
    assert_eq!(scheduled, 1);
    assert_eq!(undone("release"), ["9001"]);
}
