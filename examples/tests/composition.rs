//! The composition examples, run through the testkit (with paranoid
//! re-replay of every run that ends): the order saga, the batch parent and
//! the subscription.

use continuum::prelude::*;
use continuum_examples::batch::ship_batch;
use continuum_examples::orders::{reserve, ship, ship_order};
use continuum_examples::saga::{Order, book_courier, charge, place_order, refund, release_stock, reserve_stock};
use continuum_examples::subscription::{Account, bill, subscription};
use continuum_testkit::TestEnv;

fn kinds(env: &TestEnv, run: RunId) -> Vec<&'static str> {
    env.history(run).iter().map(|e| e.event.type_name()).collect()
}

fn saga_env() -> TestEnv {
    TestEnv::builder()
        .workflow(place_order)
        .activity(charge)
        .activity(refund)
        .activity(reserve_stock)
        .activity(release_stock)
        .activity(book_courier)
        .paranoid(true)
        .build()
}

#[test]
fn the_saga_places_an_order_or_refunds_it() {
    let mut env = saga_env();
    let ok = env.start(place_order, Order { id: "a1".into(), cents: 4200, courier_refuses: false });
    assert_eq!(env.result(&ok), Some(Ok("a1 paid 4200 cents, hold-a1, courier-a1".to_string())));

    let refused = env.start(place_order, Order { id: "b2".into(), cents: 4200, courier_refuses: true });
    let err = env.result(&refused).expect("ended").expect_err("the courier refused");
    assert!(err.to_string().contains("undone: release_stock, refund; failed to undo: 0"), "{err}");
    assert_eq!(
        kinds(&env, refused.id())[7..],
        [
            "compensation_scheduled",
            "compensation_completed",
            "compensation_scheduled",
            "compensation_completed",
            "run_failed"
        ]
    );
}

#[test]
fn the_batch_fans_out_to_one_child_per_order() {
    let mut env = TestEnv::builder()
        .workflow(ship_batch)
        .workflow(ship_order)
        .activity(reserve)
        .activity(ship)
        .paranoid(true)
        .build();
    let run = env.start(ship_batch, vec!["ab".to_string(), "abc".to_string()]);
    env.advance(std::time::Duration::from_secs(1));
    assert_eq!(env.result(&run), Some(Ok(vec![20, 30])));
    assert_eq!(
        kinds(&env, run.id()),
        ["run_started", "child_started", "child_started", "child_completed", "child_completed", "run_completed"]
    );
}

#[test]
fn the_subscription_bills_each_cycle_in_a_fresh_run() {
    let mut env = TestEnv::builder().workflow(subscription).activity(bill).paranoid(true).build();
    let account = Account { customer: "dana".into(), cycle: 0, billed: 0, max_cycles: 3 };
    let run = env.start(subscription, account);
    for usage in [100u64, 200, 300] {
        env.inject_signal(run.id(), "usage", &usage).unwrap();
    }
    assert_eq!(env.result(&run), Some(Ok(600)));
    assert_eq!(kinds(&env, run.id()).last(), Some(&"run_continued_as_new"), "the first cycle continued");
    // A cycle with no usage times out after 31 days and bills nothing.
    let quiet = env.start(subscription, Account { customer: "eve".into(), cycle: 0, billed: 0, max_cycles: 1 });
    env.advance(days(31));
    assert_eq!(env.result(&quiet), Some(Ok(0)));
}
