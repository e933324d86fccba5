//! Readiness as a health probe sees it: ready, degraded while the journal
//! does not answer (and ready again once it does), draining, drained — and
//! a runtime that shut down still cancels through the journal.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, InMemoryJournal, Journal, JournalError, Readiness, RunStatus};
use continuum_testkit::faults::{FaultyJournal, Op};

#[workflow]
async fn waits(ctx: &WorkflowContext, _input: ()) -> Result<u32, WorkflowError> {
    Ok(ctx.signal::<u32>("go").await?)
}

async fn until(rt: &Runtime, pick: impl Fn(&Readiness) -> bool) -> Readiness {
    let mut watch = rt.watch_readiness();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let now = watch.borrow_and_update().clone();
            if pick(&now) {
                return now;
            }
            watch.changed().await.expect("the runtime is alive");
        }
    })
    .await
    .expect("readiness reached")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_journal_and_the_shutdown() {
    let faulty = FaultyJournal::new(Arc::new(InMemoryJournal::new()));
    let journal: Arc<dyn Journal> = faulty.clone();
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(waits)
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(20), ..EngineConfig::default() })
        .start()
        .await
        .unwrap();
    assert_eq!(rt.readiness(), Readiness::Ready);
    assert!(rt.readiness().is_serving());
    let run = rt.start(waits, (), StartOptions::default()).await.unwrap().id();

    faulty.fail(Op::RenewLeases, usize::MAX, JournalError::Unavailable("the database is restarting".into()));
    let degraded = until(&rt, |r| matches!(r, Readiness::Degraded { .. })).await;
    assert!(degraded.to_string().contains("the database is restarting"), "{degraded}");
    assert!(degraded.is_serving());
    faulty.heal();
    until(&rt, |r| *r == Readiness::Ready).await;

    let report = rt.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(report.runs_released, 1);
    assert_eq!(rt.readiness(), Readiness::Drained);
    assert!(!rt.readiness().is_serving());
    // A drain is never undone by the journal's health.
    faulty.fail(Op::RenewLeases, usize::MAX, JournalError::Unavailable("down again".into()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rt.readiness(), Readiness::Drained);
    faulty.heal();
    // Cancel still works through the journal.
    rt.cancel(run, Some("after shutdown".into())).await.expect("cancel after shutdown");
    assert_eq!(journal.run_info(run).await.unwrap().status, RunStatus::Cancelled);
}
