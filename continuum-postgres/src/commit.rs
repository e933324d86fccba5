//! The group commit: many runs' writes in one transaction.
//!
//! One transaction, a handful of statements whatever the number of runs:
//! every multi-row write binds one array per column (`unnest`), never one
//! parameter per row. Existing runs are locked in id order and new runs
//! inserted in workflow-id order, so two committers never wait on each
//! other in a cycle. Each write is checked on its own under those locks —
//! the lease token (the fence), the status, the history's end, the
//! workflow id's uniqueness — and one that fails is left out with its
//! error; the rest are applied.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use continuum_core::error::JournalError;
use continuum_core::event::Event;
use continuum_core::journal::{Lease, RunStatus, RunWrite, Written};
use sqlx::PgPool;
use uuid::Uuid;

use super::{TASKS_CHANNEL, backend, json, parse_status, secs, storable, to_i64, to_u64};

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
    for stored in &write.append.stored_results {
        storable("idempotency key", &stored.key)?;
    }
    Ok(())
}

/// The status a run has once `write` is applied.
fn status_after(write: &RunWrite) -> RunStatus {
    write.append.events.iter().rev().find_map(|e| e.event.terminal_status()).unwrap_or(RunStatus::Running)
}

/// The events of a write must continue the history without a gap.
fn check_seqs(write: &RunWrite, next: u64) -> Result<(), JournalError> {
    let run = write.append.lease.run;
    for (i, ev) in write.append.events.iter().enumerate() {
        let want = next + i as u64;
        if ev.seq != want {
            return Err(JournalError::SeqConflict { run, expected: ev.seq, actual: want });
        }
    }
    Ok(())
}

pub(crate) async fn commit(
    pool: &PgPool,
    run_lease: Duration,
    writes: Vec<RunWrite>,
) -> Result<Vec<Result<Written, JournalError>>, JournalError> {
    let mut results: Vec<Option<Result<Written, JournalError>>> =
        writes.iter().map(|w| check_storable(w).err().map(Err)).collect();
    if results.iter().all(Option::is_some) {
        return Ok(results.into_iter().flatten().collect());
    }
    let mut tx = pool.begin().await.map_err(backend)?;

    // Existing runs: lock in id order, then check each write under the lock.
    let mut appends: Vec<usize> =
        (0..writes.len()).filter(|&i| results[i].is_none() && writes[i].create.is_none()).collect();
    appends.sort_by_key(|&i| writes[i].append.lease.run.0);
    if !appends.is_empty() {
        let ids: Vec<Uuid> = appends.iter().map(|&i| writes[i].append.lease.run.0).collect();
        let rows: Vec<(Uuid, i64, String, i64)> = sqlx::query_as(
            "SELECT id, lease_token, status, last_seq FROM continuum_runs WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let rows: HashMap<Uuid, (i64, String, i64)> = rows.into_iter().map(|(id, t, s, l)| (id, (t, s, l))).collect();
        for &i in &appends {
            let lease = &writes[i].append.lease;
            let run = lease.run;
            let checked = match rows.get(&run.0) {
                None => Err(JournalError::RunNotFound(run)),
                Some((current, _, _)) if to_u64(*current) != lease.token => {
                    tracing::warn!(%run, presented = lease.token, current, "stale journal write rejected");
                    Err(JournalError::Fenced { run, presented: lease.token, current: to_u64(*current) })
                }
                Some((_, status, last_seq)) => match parse_status(status) {
                    Ok(status) if status.is_terminal() => Err(JournalError::RunTerminal { run, status }),
                    Ok(_) => check_seqs(&writes[i], to_u64(*last_seq) + 1),
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = checked {
                results[i] = Some(Err(e));
            }
        }
    }

    // New runs: insert in workflow-id order, already leased to the writer.
    let mut tokens: HashMap<Uuid, u64> = HashMap::new();
    let mut creates: Vec<usize> = Vec::new();
    for i in 0..writes.len() {
        if results[i].is_some() || writes[i].create.is_none() {
            continue;
        }
        let starts_right = matches!(writes[i].append.events.first().map(|e| &e.event), Some(Event::RunStarted { .. }));
        match check_seqs(&writes[i], 1) {
            Ok(()) if starts_right => creates.push(i),
            Ok(()) => {
                results[i] = Some(Err(JournalError::InvalidInput {
                    what: "new run",
                    detail: "its first event must be run_started at seq 1".into(),
                }));
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let workflow_id = |i: usize| writes[i].create.as_ref().map_or("", |c| c.workflow_id.as_str());
    creates.sort_by(|&a, &b| workflow_id(a).cmp(workflow_id(b)));
    if !creates.is_empty() {
        let mut ids = Vec::with_capacity(creates.len());
        let mut wids = Vec::with_capacity(creates.len());
        let mut workflows = Vec::with_capacity(creates.len());
        let mut versions = Vec::with_capacity(creates.len());
        let mut started = Vec::with_capacity(creates.len());
        let mut lasts = Vec::with_capacity(creates.len());
        let mut statuses = Vec::with_capacity(creates.len());
        for &i in &creates {
            let w = &writes[i];
            let Some(first) = w.append.events.first() else { continue };
            let Event::RunStarted { workflow, version, .. } = &first.event else { continue };
            ids.push(w.append.lease.run.0);
            wids.push(workflow_id(i));
            workflows.push(workflow.as_str());
            versions.push(version.0.to_vec());
            started.push(first.at);
            lasts.push(w.append.events.last().map_or(1, |e| to_i64(e.seq)));
            statuses.push(status_after(w).to_string());
        }
        let inserted: Vec<(Uuid, i64)> = sqlx::query_as(
            "INSERT INTO continuum_runs \
                 (id, workflow_id, workflow, version, started_at, last_seq, status, lease_token, lease_until) \
             SELECT u.id, u.wid, u.wf, u.ver, u.at, u.last, u.status, nextval('continuum_lease_token'), \
                    now() + make_interval(secs => $8) \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[], $6::bigint[], \
                         $7::text[]) WITH ORDINALITY AS u(id, wid, wf, ver, at, last, status, n) \
             ORDER BY u.n \
             ON CONFLICT (namespace, workflow_id) DO NOTHING \
             RETURNING id, lease_token",
        )
        .bind(&ids)
        .bind(&wids)
        .bind(&workflows)
        .bind(&versions)
        .bind(&started)
        .bind(&lasts)
        .bind(&statuses)
        .bind(secs(run_lease))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tokens.extend(inserted.into_iter().map(|(id, t)| (id, to_u64(t))));
        let taken: Vec<&str> = creates
            .iter()
            .filter(|&&i| !tokens.contains_key(&writes[i].append.lease.run.0))
            .map(|&i| workflow_id(i))
            .collect();
        if !taken.is_empty() {
            let holders: Vec<(String, Uuid)> = sqlx::query_as(
                "SELECT workflow_id, id FROM continuum_runs WHERE namespace = 'default' AND workflow_id = ANY($1)",
            )
            .bind(&taken)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
            let holders: HashMap<String, Uuid> = holders.into_iter().collect();
            for &i in &creates {
                if tokens.contains_key(&writes[i].append.lease.run.0) {
                    continue;
                }
                let wid = workflow_id(i).to_owned();
                results[i] = Some(match holders.get(&wid) {
                    Some(existing) => Err(JournalError::DuplicateWorkflowId {
                        workflow_id: wid,
                        existing: continuum_core::ids::RunId(*existing),
                    }),
                    None => Err(JournalError::Backend(format!("workflow id `{wid}` conflicts with a vanished run"))),
                });
            }
        }
    }

    // Everything accepted is applied with one statement per table.
    let accepted: Vec<usize> = (0..writes.len()).filter(|&i| results[i].is_none()).collect();
    let mut ev_runs = Vec::new();
    let mut ev_seqs = Vec::new();
    let mut ev_ats: Vec<DateTime<Utc>> = Vec::new();
    let mut ev_texts = Vec::new();
    let mut up_runs = Vec::new();
    let mut up_lasts = Vec::new();
    let mut up_statuses = Vec::new();
    let mut consumed = Vec::new();
    let mut resolved_runs = Vec::new();
    let mut resolved_seqs = Vec::new();
    let mut ended = Vec::new();
    let mut t_runs = Vec::new();
    let mut t_seqs = Vec::new();
    let mut t_activities = Vec::new();
    let mut t_inputs = Vec::new();
    let mut t_retries = Vec::new();
    let mut t_timeouts: Vec<Option<i64>> = Vec::new();
    let mut t_keys: Vec<Option<&str>> = Vec::new();
    let mut t_leases: Vec<Option<f64>> = Vec::new();
    let mut r_activities = Vec::new();
    let mut r_keys = Vec::new();
    let mut r_outputs = Vec::new();
    for &i in &accepted {
        let w = &writes[i];
        let run = w.append.lease.run.0;
        for ev in &w.append.events {
            ev_runs.push(run);
            ev_seqs.push(to_i64(ev.seq));
            ev_ats.push(ev.at);
            ev_texts.push(json(ev)?);
        }
        let status = status_after(w);
        if w.create.is_none()
            && let Some(last) = w.append.events.last()
        {
            up_runs.push(run);
            up_lasts.push(to_i64(last.seq));
            up_statuses.push(status.to_string());
        }
        consumed.extend(w.append.consumed_signals.iter().map(|&id| to_i64(id)));
        if status.is_terminal() {
            // Outstanding work of an ended run is dropped: a late completion
            // finds no task and is discarded.
            ended.push(run);
        } else {
            for &seq in &w.append.resolved_tasks {
                resolved_runs.push(run);
                resolved_seqs.push(to_i64(seq));
            }
            for t in &w.append.new_tasks {
                t_runs.push(run);
                t_seqs.push(to_i64(t.seq));
                t_activities.push(t.activity.as_str());
                t_inputs.push(t.input.as_json());
                t_retries.push(json(&t.retry)?);
                t_timeouts.push(t.timeout.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
                t_keys.push(t.idempotency_key.as_deref());
                t_leases.push(t.lease_to_writer.map(secs));
            }
        }
        for r in &w.append.stored_results {
            r_activities.push(r.activity.as_str());
            r_keys.push(r.key.as_str());
            r_outputs.push(r.output.as_json());
        }
    }
    if !ev_runs.is_empty() {
        sqlx::query(
            "INSERT INTO continuum_events (run_id, seq, at, event) \
             SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[])",
        )
        .bind(&ev_runs)
        .bind(&ev_seqs)
        .bind(&ev_ats)
        .bind(&ev_texts)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    if !up_runs.is_empty() {
        sqlx::query(
            "UPDATE continuum_runs r SET last_seq = u.last, status = u.status \
             FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS u(id, last, status) WHERE r.id = u.id",
        )
        .bind(&up_runs)
        .bind(&up_lasts)
        .bind(&up_statuses)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    if !consumed.is_empty() {
        sqlx::query("DELETE FROM continuum_signals WHERE id = ANY($1)")
            .bind(&consumed)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    if !ended.is_empty() {
        sqlx::query("DELETE FROM continuum_tasks WHERE run_id = ANY($1)")
            .bind(&ended)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    if !resolved_runs.is_empty() {
        sqlx::query(
            "DELETE FROM continuum_tasks t USING unnest($1::uuid[], $2::bigint[]) AS u(r, s) \
             WHERE t.run_id = u.r AND t.seq = u.s",
        )
        .bind(&resolved_runs)
        .bind(&resolved_seqs)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    let mut leased: HashMap<Uuid, Vec<(u64, u64)>> = HashMap::new();
    if !t_runs.is_empty() {
        let rows: Vec<(Uuid, i64, Option<i64>)> = sqlx::query_as(
            "INSERT INTO continuum_tasks \
                 (run_id, seq, activity, input, retry, timeout_ms, idempotency_key, due, \
                  attempts, state, lease_token, lease_until) \
             SELECT r, s, a, i, rt, t, k, now(), \
                    CASE WHEN l IS NULL THEN 0 ELSE 1 END, \
                    CASE WHEN l IS NULL THEN 'ready' ELSE 'leased' END, \
                    CASE WHEN l IS NULL THEN NULL ELSE nextval('continuum_lease_token') END, \
                    CASE WHEN l IS NULL THEN NULL ELSE now() + make_interval(secs => l) END \
             FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], \
                         $8::float8[]) AS u(r, s, a, i, rt, t, k, l) \
             RETURNING run_id, seq, lease_token",
        )
        .bind(&t_runs)
        .bind(&t_seqs)
        .bind(&t_activities)
        .bind(&t_inputs)
        .bind(&t_retries)
        .bind(&t_timeouts)
        .bind(&t_keys)
        .bind(&t_leases)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for (run, seq, token) in rows {
            if let Some(token) = token {
                leased.entry(run).or_default().push((to_u64(seq), to_u64(token)));
            }
        }
        if t_leases.iter().any(Option::is_none) {
            sqlx::query("SELECT pg_notify($1, '')").bind(TASKS_CHANNEL).execute(&mut *tx).await.map_err(backend)?;
        }
    }
    if !r_activities.is_empty() {
        sqlx::query(
            "INSERT INTO continuum_activity_results (activity, idempotency_key, output) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&r_activities)
        .bind(&r_keys)
        .bind(&r_outputs)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)?;

    for &i in &accepted {
        let run = writes[i].append.lease.run;
        let token = match writes[i].create {
            Some(_) => tokens.get(&run.0).copied().unwrap_or_default(),
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
