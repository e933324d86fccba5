//! The group commit: many runs' writes in one transaction.
//!
//! One statement, one round trip and one transaction whatever the number
//! of runs: the writes go to the `continuum_commit` function (see its
//! migration) as one array per column (`unnest`), never one parameter per
//! row. Existing runs are locked in id order and new runs inserted in
//! workflow-id order, so two committers never wait on each other in a
//! cycle. Each write is checked on its own under those locks — the lease
//! token (the fence), the status, the history's end, the workflow id's
//! uniqueness — and one that fails is left out with its error; the rest
//! are applied.
//!
//! This is the only place runs are created and their histories and
//! statuses change, tasks are created and dropped, and signals consumed
//! (`tasks.rs` changes a task's lease and state as workers run it). It hands out leases only for what
//! it creates (a new run, a task leased to its writer) and never takes a
//! lease from its holder: a write with a stale token is refused, not
//! repaired.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use continuum_core::error::JournalError;
use continuum_core::event::{Event, HistoryEvent};
use continuum_core::ids::RunId;
use continuum_core::journal::{IdReuse, Lease, RunStatus, RunWrite, Written};
use sqlx::PgPool;
use uuid::Uuid;

use crate::rows::{backend, json, parse_status, secs, storable, to_i64, to_u64, unavailable_db};

/// Checks that nothing in `write` is unstorable (PostgreSQL text cannot
/// hold NUL), before any SQL runs.
fn check_storable(write: &RunWrite) -> Result<(), JournalError> {
    if let Some(create) = &write.create {
        storable("workflow id", &create.workflow_id)?;
    }
    for ev in &write.append.events {
        if let Event::RunStarted { workflow, .. } = &ev.event {
            storable("workflow name", workflow)?;
        }
    }
    for task in &write.append.new_tasks {
        if let Some(key) = &task.idempotency_key {
            storable("idempotency key", key)?;
        }
    }
    Ok(())
}

/// The status a run has once `write` is applied.
fn status_after(write: &RunWrite) -> RunStatus {
    write.append.ends_as().unwrap_or(RunStatus::Running)
}

/// Commits one write; its own error if it was refused.
pub(crate) async fn commit_one(pool: &PgPool, run_lease: Duration, write: RunWrite) -> Result<Written, JournalError> {
    let mut results = commit(pool, run_lease, vec![write]).await?;
    results.pop().unwrap_or_else(|| Err(JournalError::Backend("empty commit result".into())))
}

/// Commits `writes` in one transaction; one result per write, in order.
///
/// One run's write never fails or delays the others: a write the function
/// refuses (fenced, ended, out of step, a taken id) is left out with its
/// own error, and a write the database rejects outright (a constraint it
/// breaks, a value it cannot take) — which aborts the whole transaction —
/// is found by committing the batch again in halves, never splitting a
/// run from the runs it creates (its children, its successor). The
/// writes that can be applied are; the one that cannot gets
/// [`JournalError::WriteRefused`], which retrying cannot change.
pub(crate) async fn commit(
    pool: &PgPool,
    run_lease: Duration,
    writes: Vec<RunWrite>,
) -> Result<Vec<Result<Written, JournalError>>, JournalError> {
    let groups = groups(&writes);
    let mut results: Vec<Option<Result<Written, JournalError>>> = vec![None; writes.len()];
    // Batches still to commit, as ranges of `groups`; the first is tried
    // first, so writes are applied in their order.
    let mut pending = vec![(0, groups.len())];
    while let Some((from, to)) = pending.pop() {
        let batch: Vec<usize> = groups[from..to].iter().flatten().copied().collect();
        let slice: Vec<&RunWrite> = batch.iter().map(|&i| &writes[i]).collect();
        match commit_batch(pool, run_lease, &slice).await {
            Ok(batch_results) => {
                for (i, result) in batch.into_iter().zip(batch_results) {
                    results[i] = Some(result);
                }
            }
            Err(Failure::Journal(e)) => return Err(e),
            Err(Failure::Rejected(detail)) if to - from > 1 => {
                tracing::debug!(writes = batch.len(), %detail, "commit rejected; committing it in halves");
                let mid = from + (to - from) / 2;
                pending.push((mid, to));
                pending.push((from, mid));
            }
            Err(Failure::Rejected(detail)) => {
                for i in batch {
                    let run = writes[i].append.lease.run;
                    tracing::error!(%run, %detail, "the journal rejects this run's write; it cannot be applied");
                    results[i] = Some(Err(JournalError::WriteRefused { run, detail: detail.clone() }));
                }
            }
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(JournalError::Backend("write not settled".into()))))
        .collect())
}

/// The writes of a commit in groups that must stay together: a write that
/// creates a run goes with the write of the run it continues or whose
/// child it is, when that is in the commit too. In order of first write.
fn groups(writes: &[RunWrite]) -> Vec<Vec<usize>> {
    let position: HashMap<RunId, usize> = writes.iter().enumerate().map(|(i, w)| (w.append.lease.run, i)).collect();
    // Each write's group leader: follow creators back to one that is not
    // created by another write in this commit.
    let creator = |i: usize| -> Option<usize> {
        let w = &writes[i];
        w.create.as_ref()?;
        let from = match w.append.events.first().map(|e| &e.event) {
            Some(Event::RunStarted { continued_from, parent, .. }) => continued_from.or(parent.map(|p| p.run)),
            _ => None,
        }?;
        position.get(&from).copied().filter(|&j| j != i)
    };
    let mut leader_of = vec![0; writes.len()];
    for (i, leader) in leader_of.iter_mut().enumerate() {
        let mut at = i;
        for _ in 0..writes.len() {
            match creator(at) {
                Some(up) => at = up,
                None => break,
            }
        }
        *leader = at;
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for (i, leader) in leader_of.into_iter().enumerate() {
        let g = *index.entry(leader).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Why a batch was not committed.
enum Failure {
    /// The journal could not do it (unreachable, or an outcome unknown).
    Journal(JournalError),
    /// The database rejected the batch's statement: nothing was applied,
    /// and some write in it cannot be.
    Rejected(String),
}

impl From<JournalError> for Failure {
    fn from(e: JournalError) -> Self {
        Failure::Journal(e)
    }
}

/// Commits one batch in one transaction.
async fn commit_batch(
    pool: &PgPool,
    run_lease: Duration,
    writes: &[&RunWrite],
) -> Result<Vec<Result<Written, JournalError>>, Failure> {
    // Refused before any SQL runs: unstorable text, events that do not
    // follow each other, a new run that does not begin with `RunStarted`.
    let mut results: Vec<Option<Result<Written, JournalError>>> = writes
        .iter()
        .map(|w| {
            let first = w.append.events.first().map(|e| e.seq);
            let checked = check_storable(w).and_then(|()| match (&w.create, first) {
                (Some(_), _)
                    if !matches!(
                        w.append.events.first(),
                        Some(HistoryEvent { seq: 1, event: Event::RunStarted { .. }, .. })
                    ) =>
                {
                    Err(JournalError::InvalidInput {
                        what: "new run",
                        detail: "its first event must be run_started at seq 1".into(),
                    })
                }
                (_, Some(first)) => w.append.check_seqs(first),
                (_, None) => Ok(()),
            });
            checked.err().map(Err)
        })
        .collect();
    let sent: Vec<usize> = (0..writes.len()).filter(|&i| results[i].is_none()).collect();
    if sent.is_empty() {
        return Ok(results.into_iter().flatten().collect());
    }

    let mut a = Arrays::default();
    // The chain a successor belongs to, when its predecessor is created in
    // this commit too (the function cannot read it from a row that does not
    // exist yet). Creators come before what they create.
    let mut chains: HashMap<RunId, RunId> = HashMap::new();
    for &i in &sent {
        let w = writes[i];
        let chain_root = w.continues().and_then(|from| chains.get(&from).copied());
        if w.create.is_some() {
            let run = w.append.lease.run;
            chains.insert(run, chain_root.unwrap_or(run));
        }
        a.push(w, chain_root)?;
    }
    a.sort();
    let rows: Vec<ResultRow> = sqlx::query_as(
        "SELECT * FROM continuum_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, \
         $37, $38)",
    )
    .bind(&a.w_run)
    .bind(&a.w_token)
    .bind(&a.w_first)
    .bind(&a.w_last)
    .bind(&a.w_status)
    .bind(&a.w_wid)
    .bind(&a.w_workflow)
    .bind(&a.w_version)
    .bind(&a.w_started)
    .bind(&a.w_parent)
    .bind(&a.w_parent_seq)
    .bind(&a.w_depth)
    .bind(&a.w_from)
    .bind(&a.w_reuse)
    .bind(&a.w_chain_root)
    .bind(&a.e_run)
    .bind(&a.e_seq)
    .bind(&a.e_at)
    .bind(&a.e_event)
    .bind(&a.c_run)
    .bind(&a.c_signal)
    .bind(&a.r_run)
    .bind(&a.r_seq)
    .bind(&a.t_run)
    .bind(&a.t_seq)
    .bind(&a.t_activity)
    .bind(&a.t_input)
    .bind(&a.t_retry)
    .bind(&a.t_timeout)
    .bind(&a.t_key)
    .bind(&a.t_lease)
    .bind(&a.rc_run)
    .bind(&a.rc_seq)
    .bind(&a.cr_parent)
    .bind(&a.cr_seq)
    .bind(&a.cr_child)
    .bind(&a.cr_outcome)
    .bind(secs(run_lease))
    .fetch_all(pool)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(db) if !unavailable_db(db.as_ref()) => Failure::Rejected(db.to_string()),
        other => Failure::Journal(backend(other)),
    })?;

    let index: HashMap<Uuid, usize> = sent.iter().map(|&i| (writes[i].append.lease.run.0, i)).collect();
    let mut created: HashMap<Uuid, u64> = HashMap::new();
    let mut leased: HashMap<Uuid, Vec<(u64, u64)>> = HashMap::new();
    for (kind, run, seq, token, detail) in rows {
        let Some(id) = run else { continue };
        if kind == "leased" {
            if let (Some(seq), Some(token)) = (seq, token) {
                leased.entry(id).or_default().push((to_u64(seq), to_u64(token)));
            }
            continue;
        }
        if kind == "created" {
            created.insert(id, token.map(to_u64).unwrap_or_default());
            continue;
        }
        let Some(&i) = index.get(&id) else { continue };
        let w = &writes[i].append;
        let run = w.lease.run;
        let error = match kind.as_str() {
            "missing" => JournalError::RunNotFound(run),
            "fenced" => {
                let current = token.map(to_u64).unwrap_or_default();
                tracing::warn!(%run, presented = w.lease.token, current, "stale journal write rejected");
                JournalError::Fenced { run, presented: w.lease.token, current }
            }
            "terminal" => {
                JournalError::RunTerminal { run, status: parse_status(detail.as_deref().unwrap_or_default())? }
            }
            "seq" => JournalError::SeqConflict {
                run,
                expected: w.events.first().map_or(0, |e| e.seq),
                actual: seq.map(to_u64).unwrap_or_default() + 1,
            },
            "duplicate" => {
                let workflow_id = writes[i].create.as_ref().map(|c| c.workflow_id.clone()).unwrap_or_default();
                match detail.as_deref().and_then(|d| d.parse::<Uuid>().ok()) {
                    Some(existing) => JournalError::DuplicateWorkflowId { workflow_id, existing: RunId(existing) },
                    None => JournalError::Backend(format!("workflow id `{workflow_id}` conflicts with a vanished run")),
                }
            }
            "orphan" => JournalError::Backend(format!("run {run} not created: the write that starts it was refused")),
            other => JournalError::Backend(format!("unexpected commit result `{other}`")),
        };
        results[i] = Some(Err(error));
    }
    for &i in &sent {
        if results[i].is_some() {
            continue;
        }
        let run = writes[i].append.lease.run;
        let token = match writes[i].create {
            Some(_) => match created.get(&run.0) {
                Some(&token) => token,
                None => {
                    results[i] = Some(Err(JournalError::Backend(format!("new run {run} was not confirmed"))));
                    continue;
                }
            },
            None => writes[i].append.lease.token,
        };
        results[i] =
            Some(Ok(Written { lease: Lease { run, token }, leased_tasks: leased.remove(&run.0).unwrap_or_default() }));
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(JournalError::Backend("write not settled".into()))))
        .collect())
}

/// A row `continuum_commit` returns: kind, run, seq, token, detail.
type ResultRow = (String, Option<Uuid>, Option<i64>, Option<i64>, Option<String>);

/// The commit's columns, one array each.
#[derive(Default)]
struct Arrays<'a> {
    w_run: Vec<Uuid>,
    w_token: Vec<i64>,
    w_first: Vec<Option<i64>>,
    w_last: Vec<Option<i64>>,
    w_status: Vec<String>,
    w_wid: Vec<Option<&'a str>>,
    w_workflow: Vec<Option<&'a str>>,
    w_version: Vec<Option<Vec<u8>>>,
    w_started: Vec<Option<DateTime<Utc>>>,
    w_parent: Vec<Option<Uuid>>,
    w_parent_seq: Vec<Option<i64>>,
    w_depth: Vec<i32>,
    w_from: Vec<Option<Uuid>>,
    w_reuse: Vec<&'static str>,
    w_chain_root: Vec<Option<Uuid>>,
    e_run: Vec<Uuid>,
    e_seq: Vec<i64>,
    e_at: Vec<DateTime<Utc>>,
    e_event: Vec<String>,
    c_run: Vec<Uuid>,
    c_signal: Vec<i64>,
    r_run: Vec<Uuid>,
    r_seq: Vec<i64>,
    t_run: Vec<Uuid>,
    t_seq: Vec<i64>,
    t_activity: Vec<&'a str>,
    t_input: Vec<&'a str>,
    t_retry: Vec<String>,
    t_timeout: Vec<Option<i64>>,
    t_key: Vec<Option<&'a str>>,
    t_lease: Vec<Option<f64>>,
    rc_run: Vec<Uuid>,
    rc_seq: Vec<i64>,
    cr_parent: Vec<Uuid>,
    cr_seq: Vec<i64>,
    cr_child: Vec<Uuid>,
    cr_outcome: Vec<String>,
}

impl<'a> Arrays<'a> {
    fn push(&mut self, w: &'a RunWrite, chain_root: Option<RunId>) -> Result<(), JournalError> {
        let run = w.append.lease.run.0;
        let status = status_after(w);
        let (started, parent, from) = match (&w.create, w.append.events.first()) {
            (
                Some(_),
                Some(HistoryEvent {
                    at,
                    event: Event::RunStarted { workflow, version, parent, continued_from, .. },
                    ..
                }),
            ) => (Some((workflow.as_str(), version.0.to_vec(), *at)), *parent, *continued_from),
            _ => (None, None, None),
        };
        self.w_from.push(from.map(|r| r.0));
        self.w_reuse.push(w.create.as_ref().map_or(IdReuse::Never, |c| c.reuse).as_str());
        self.w_chain_root.push(chain_root.map(|r| r.0));
        self.w_parent.push(parent.map(|p| p.run.0));
        self.w_parent_seq.push(parent.map(|p| to_i64(p.command)));
        self.w_depth.push(parent.map_or(0, |p| i32::try_from(p.depth).unwrap_or(i32::MAX)));
        for &seq in &w.append.resolved_children {
            self.rc_run.push(run);
            self.rc_seq.push(to_i64(seq));
        }
        if let Some(report) = &w.append.child_report {
            self.cr_parent.push(report.parent.0);
            self.cr_seq.push(to_i64(report.command));
            self.cr_child.push(run);
            self.cr_outcome.push(json(&report.outcome)?);
        }
        self.w_run.push(run);
        self.w_token.push(to_i64(w.append.lease.token));
        self.w_first.push(w.append.events.first().map(|e| to_i64(e.seq)));
        self.w_last.push(w.append.events.last().map(|e| to_i64(e.seq)));
        self.w_status.push(status.to_string());
        self.w_wid.push(w.create.as_ref().map(|c| c.workflow_id.as_str()));
        self.w_workflow.push(started.as_ref().map(|s| s.0));
        self.w_started.push(started.as_ref().map(|s| s.2));
        self.w_version.push(started.map(|s| s.1));
        for ev in &w.append.events {
            self.e_run.push(run);
            self.e_seq.push(to_i64(ev.seq));
            self.e_at.push(ev.at);
            self.e_event.push(json(ev)?);
        }
        for &id in &w.append.consumed_signals {
            self.c_run.push(run);
            self.c_signal.push(to_i64(id));
        }
        if status.is_terminal() {
            // The function drops an ended run's tasks.
            return Ok(());
        }
        for &seq in &w.append.resolved_tasks {
            self.r_run.push(run);
            self.r_seq.push(to_i64(seq));
        }
        for t in &w.append.new_tasks {
            self.t_run.push(run);
            self.t_seq.push(to_i64(t.seq));
            self.t_activity.push(t.activity.as_str());
            self.t_input.push(t.input.as_json());
            self.t_retry.push(json(&t.retry)?);
            self.t_timeout.push(t.timeout.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
            self.t_key.push(t.idempotency_key.as_deref());
            self.t_lease.push(t.lease_to_writer.map(secs));
        }
        Ok(())
    }

    /// Orders the rows whose locks other committers may also take: task
    /// deletes by (run, seq).
    fn sort(&mut self) {
        let mut r: Vec<(Uuid, i64)> = self.r_run.iter().copied().zip(self.r_seq.iter().copied()).collect();
        r.sort_unstable();
        (self.r_run, self.r_seq) = r.into_iter().unzip();
    }
}
