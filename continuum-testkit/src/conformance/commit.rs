//! The group commit: many runs' writes in one `Journal::commit`, each
//! checked and applied (or refused) on its own.

use std::sync::Arc;
use std::time::Duration;

use continuum::journal::{RunAppend, RunWrite};
use continuum::{Event, HistoryEvent, Journal, JournalError, Payload};

use super::writes::{append, create, new_run};

/// One commit, many runs: a fenced write, a write that does not continue
/// its history, a taken workflow id (also taken twice within the batch)
/// are each refused with their own error; the other writes are applied.
pub async fn a_group_commit_checks_each_write_on_its_own(journal: Arc<dyn Journal>) {
    let ok = journal.create_run(new_run("gc-ok")).await.unwrap();
    let stale = journal.create_run(new_run("gc-stale")).await.unwrap();
    let fresh = journal.acquire_run(stale.run).await.unwrap();
    let gap = journal.create_run(new_run("gc-gap")).await.unwrap();
    let twice = create("gc-twice");
    let first_of_twice = twice.append.lease.run;
    let writes = vec![
        append(ok.clone(), 2),
        append(stale.clone(), 2),
        append(gap.clone(), 5),
        create("gc-new"),
        create("gc-ok"),
        twice,
        create("gc-twice"),
    ];
    let new_run_id = writes[3].append.lease.run;
    let results = journal.commit(writes).await.expect("the commit as a whole succeeds");
    assert_eq!(results.len(), 7);
    let written = results[0].as_ref().expect("the healthy append");
    assert_eq!(written.lease, ok);
    assert!(written.leased_tasks.is_empty(), "no lease asked for");
    assert!(
        matches!(&results[1], Err(JournalError::Fenced { presented, current, .. }) if *presented == stale.token && *current == fresh.token),
        "{:?}",
        results[1]
    );
    assert!(matches!(&results[2], Err(JournalError::SeqConflict { expected: 5, actual: 2, .. })), "{:?}", results[2]);
    let created = results[3].as_ref().expect("the new run");
    assert!(created.lease.token > fresh.token, "a new run gets a fresh token");
    assert!(
        matches!(&results[4], Err(JournalError::DuplicateWorkflowId { existing, .. }) if *existing == ok.run),
        "{:?}",
        results[4]
    );
    assert!(results[5].is_ok(), "{:?}", results[5]);
    assert!(
        matches!(&results[6], Err(JournalError::DuplicateWorkflowId { existing, .. }) if *existing == first_of_twice),
        "{:?}",
        results[6]
    );

    assert_eq!(journal.history(ok.run).await.unwrap().len(), 2);
    assert_eq!(journal.history(stale.run).await.unwrap().len(), 1, "the fenced write changed nothing");
    assert_eq!(journal.history(gap.run).await.unwrap().len(), 1, "the conflicting write changed nothing");
    assert_eq!(journal.history(new_run_id).await.unwrap().len(), 1);
    assert_eq!(journal.find_workflow_id("gc-new").await.unwrap().unwrap().id, new_run_id);
    assert_eq!(journal.find_workflow_id("gc-twice").await.unwrap().unwrap().id, first_of_twice);
    // Only the applied append's task exists.
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert_eq!(claim.tasks.iter().map(|t| t.run).collect::<Vec<_>>(), vec![ok.run]);
}

/// A run that ends in a commit shared with runs that go on loses its
/// outstanding tasks: none is claimed again once its lease lapses.
pub async fn an_ended_run_drops_its_tasks_even_in_a_batch_with_running_ones(journal: Arc<dyn Journal>) {
    let ending = journal.create_run(new_run("ends-in-batch")).await.unwrap();
    let going_on = journal.create_run(new_run("goes-on-in-batch")).await.unwrap();
    let mut write = append(ending.clone(), 2);
    write.append.new_tasks[0].lease_to_writer = Some(Duration::from_millis(200));
    journal.commit(vec![write]).await.unwrap().pop().unwrap().unwrap();
    let end = HistoryEvent { seq: 3, at: chrono::Utc::now(), event: Event::RunCompleted { output: Payload::unit() } };
    let results = journal
        .commit(vec![
            RunWrite { create: None, append: RunAppend::events(ending.clone(), vec![end]) },
            append(going_on.clone(), 2),
        ])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert!(claim.settled.is_empty(), "{:?}", claim.settled);
    assert_eq!(claim.tasks.iter().map(|t| t.run).collect::<Vec<_>>(), vec![going_on.run], "only the live run's task");
}
