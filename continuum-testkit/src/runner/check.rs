//! The invariants checked once a batch is quiet, for each program: its
//! end is the model's (or a cancel's); every run of its chain and every
//! child it started has ended, has dense seqs and replays to the end it
//! recorded; each acknowledged signal was consumed once, in send order,
//! and no signal beyond its waits; and a chain that completed journaled
//! exactly the model's commands.

use std::sync::Arc;

use continuum::{ErasedWorkflow, Event, HistoryEvent, Journal, Replayed, RunFailure, RunId, RunOutcome, RunStatus};

use continuum::engine::replay_history;

use super::drive::Driven;
use super::model::{Expected, model};
use super::program::{Obs, SignalName, program};
use super::strategy::Case;

/// Reads the history of `run`.
async fn history(journal: &Arc<dyn Journal>, run: RunId) -> Result<Arc<[HistoryEvent]>, String> {
    journal.history(run).await.map_err(|e| format!("history of {run}: {e}"))
}

/// Checks one ended run's history: dense seqs, ended, and a replay through
/// today's code that reaches the same end. Returns the run it continued
/// as, if it did.
async fn check_run(journal: &Arc<dyn Journal>, run: RunId) -> Result<(Arc<[HistoryEvent]>, Option<RunId>), String> {
    let events = history(journal, run).await?;
    for (i, e) in events.iter().enumerate() {
        if e.seq != i as u64 + 1 {
            return Err(format!("run {run}: event {i} has seq {} (seqs must be dense from 1)", e.seq));
        }
    }
    let info = journal.run_info(run).await.map_err(|e| format!("run {run}: {e}"))?;
    if !info.status.is_terminal() {
        return Err(format!("run {run} is still {} after quiescence", info.status));
    }
    let last = events.last().map(|e| &e.event);
    let replayed = replay_history(&ErasedWorkflow::of::<program>(), run, events.clone())
        .map_err(|failure| format!("run {run} no longer replays: {failure}"))?;
    let next = match (last, replayed) {
        (Some(Event::RunContinuedAsNew { next, .. }), Replayed::Continued { next: replayed_next, .. }) => {
            if next != &replayed_next {
                return Err(format!("run {run} replays into {replayed_next}, recorded {next}"));
            }
            Some(*next)
        }
        (Some(Event::RunCancelled { .. }), Replayed::Waiting { .. } | Replayed::Ended(RunOutcome::Cancelled(_))) => {
            None
        }
        (Some(end), Replayed::Ended(outcome)) if RunOutcome::from_event(end).as_ref() == Some(&outcome) => None,
        (end, replayed) => return Err(format!("run {run} recorded {end:?} but replays to {replayed:?}")),
    };
    Ok((events, next))
}

/// Checks a child and, recursively, its own children.
async fn check_tree(journal: &Arc<dyn Journal>, run: RunId, depth: u32) -> Result<(), String> {
    if depth > 8 {
        return Err(format!("run {run}: children nest deeper than the generator makes them"));
    }
    let (events, _) = Box::pin(check_run(journal, run)).await?;
    for child in children(&events) {
        Box::pin(check_tree(journal, child, depth + 1)).await?;
    }
    Ok(())
}

fn children(events: &[HistoryEvent]) -> Vec<RunId> {
    events
        .iter()
        .filter_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .collect()
}

/// Checks one program of a batch; `Err` describes the first violation.
pub async fn check(journal: &Arc<dyn Journal>, case: &Case, driven: &Driven) -> Result<(), String> {
    let expected = model(&case.steps);
    // The chain, root to tip, every run checked; each received signal with
    // the name its wait gave (seqs restart in each run of the chain).
    let mut chain: Vec<HistoryEvent> = Vec::new();
    let mut received: Vec<(String, u32)> = Vec::new();
    let mut run = driven.root;
    for _ in 0..=case.steps.len() {
        let (events, next) = check_run(journal, run).await?;
        for child in children(&events) {
            check_tree(journal, child, 1).await?;
        }
        received.extend(events.iter().filter_map(|e| match &e.event {
            Event::SignalReceived { awaited, payload } => {
                let name = events.iter().find_map(|w| match &w.event {
                    Event::SignalAwaited { name, .. } if w.seq == *awaited => Some(name.clone()),
                    _ => None,
                });
                Some((name.unwrap_or_default(), payload.decode::<u32>().unwrap_or(u32::MAX)))
            }
            _ => None,
        }));
        chain.extend(events.iter().cloned());
        match next {
            Some(next) => run = next,
            None => break,
        }
    }
    let tip = journal.run_info(run).await.map_err(|e| e.to_string())?;
    if tip.status == RunStatus::Continued {
        return Err(format!("chain of {} continues more often than the program does", driven.root));
    }

    // The end.
    match (driven.cancelled, &expected.end, &driven.outcome) {
        (Some(true), _, RunOutcome::Cancelled(_)) => {}
        (Some(true), _, other) => return Err(format!("cancel answered Ok but the chain ended {other:?}")),
        (_, _, RunOutcome::Cancelled(_)) => return Err("the chain ended cancelled, but no cancel was sent".into()),
        (_, Expected::Completed(trace), RunOutcome::Completed(output)) => {
            let got: Vec<Obs> = output.decode().map_err(|e| format!("output does not decode: {e}"))?;
            if &got != trace {
                return Err(format!("trace differs from the model:\n  model: {trace:?}\n  run:   {got:?}"));
            }
        }
        (_, Expected::Failed, RunOutcome::Failed(RunFailure::Error { message })) if message == "planned failure" => {}
        (_, expected, got) => return Err(format!("the model says {expected:?}, the chain ended {got:?}")),
    }

    // Signals: each acknowledged one consumed once, in send order, and
    // none beyond the program's waits.
    for name in [SignalName::A, SignalName::B] {
        let sent: Vec<u32> = driven.acknowledged.iter().filter(|(n, _)| *n == name).map(|(_, v)| *v).collect();
        let got: Vec<u32> = received.iter().filter(|(n, _)| n == name.as_str()).map(|(_, v)| *v).collect();
        let waits = expected.waits.iter().filter(|n| **n == name).count();
        if got.len() > waits || sent.get(..got.len()) != Some(&got[..]) {
            return Err(format!(
                "signals `{}`: sent {sent:?}, consumed {got:?} ({waits} waits): each once, in send order",
                name.as_str()
            ));
        }
    }

    // The commands, for a chain that ran its program to the end.
    if matches!(driven.outcome, RunOutcome::Completed(_)) {
        let journaled: Vec<(String, String)> =
            chain.iter().filter_map(|e| e.event.command()).map(|c| (c.kind.to_string(), c.name.to_owned())).collect();
        if journaled != expected.commands {
            return Err(format!(
                "commands differ from the model:\n  model:    {:?}\n  journaled: {journaled:?}",
                expected.commands
            ));
        }
    }
    Ok(())
}
