//! Hand-built runs, tasks and writes for the tests that drive the journal
//! directly, below the engine: a run of the made-up `journal_only`
//! workflow, an activity task of the made-up `charge` activity, and the
//! events that go with them. Builders only: they never write to a
//! journal, except `append_task`, which creates a run and appends one
//! task to it through the `Journal` trait.

use std::sync::Arc;

use continuum::journal::{CreateRun, Lease, NewActivityTask, NewRun, RunAppend, RunWrite};
use continuum::{Event, HistoryEvent, Journal, Payload, RetryPolicy, VersionHash};

pub(crate) fn new_run(workflow_id: &str) -> NewRun {
    NewRun {
        id: continuum::RunId::new_random(),
        workflow_id: workflow_id.to_string(),
        workflow: "journal_only".into(),
        version: VersionHash([7; 32]),
        input: Payload::unit(),
    }
}

pub(crate) fn task(seq: u64, max_attempts: u32, key: Option<&str>) -> NewActivityTask {
    NewActivityTask {
        seq,
        activity: "charge".into(),
        input: Payload::encode(&42).unwrap(),
        retry: RetryPolicy { max_attempts, ..RetryPolicy::default() },
        timeout: None,
        idempotency_key: key.map(String::from),
        lease_to_writer: None,
    }
}

pub(crate) fn scheduled(seq: u64, t: &NewActivityTask) -> HistoryEvent {
    HistoryEvent {
        seq,
        at: chrono::Utc::now(),
        event: Event::ActivityScheduled {
            site: continuum::SiteId(1),
            activity: t.activity.clone(),
            input: t.input.clone(),
        },
    }
}

pub(crate) async fn append_task(journal: &Arc<dyn Journal>, workflow_id: &str, t: NewActivityTask) -> continuum::RunId {
    let lease = journal.create_run(new_run(workflow_id)).await.unwrap();
    let append = RunAppend {
        lease: lease.clone(),
        events: vec![scheduled(2, &t)],
        new_tasks: vec![t],
        resolved_tasks: vec![],
        consumed_signals: vec![],
        resolved_children: vec![],
        child_report: None,
    };
    journal.append(append).await.unwrap();
    lease.run
}

fn started(seq: u64) -> HistoryEvent {
    HistoryEvent {
        seq,
        at: chrono::Utc::now(),
        event: Event::RunStarted {
            workflow: "journal_only".into(),
            version: VersionHash([7; 32]),
            input: Payload::unit(),
            parent: None,
            continued_from: None,
            deadline: None,
        },
    }
}

pub(crate) fn create(workflow_id: &str) -> RunWrite {
    let run = continuum::RunId::new_random();
    RunWrite {
        create: Some(CreateRun::new(workflow_id)),
        append: RunAppend::events(Lease { run, token: 0 }, vec![started(1)]),
    }
}

pub(crate) fn append(lease: Lease, seq: u64) -> RunWrite {
    let t = task(seq, 3, None);
    let mut append = RunAppend::events(lease, vec![scheduled(seq, &t)]);
    append.new_tasks.push(t);
    RunWrite { create: None, append }
}
