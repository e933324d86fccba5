//! The invariants checked once the load is quiet and every worker is
//! stopped: structural ones in SQL against the journal tables and the
//! oracle table (each query returns one row per violation, described),
//! the rest through the `Journal` trait — results, signals, replay.

use std::collections::{BTreeMap, HashMap};

use continuum::engine::replay_history;
use continuum::{Event, Journal, Payload, Replayed, RunId, RunOutcome};
use continuum_examples::workload::{Item, plan, workflows};
use continuum_postgres::PostgresJournal;
use sqlx::PgPool;

use super::signals::{Fate, Sent};

/// Event types that resolve a command, and the field naming it.
const RESOLUTIONS: &str = "('activity_completed', 'activity_failed', 'timer_fired', 'signal_received', \
                           'signal_timed_out', 'child_completed', 'child_failed', 'child_cancelled', \
                           'compensation_completed', 'compensation_failed')";

/// Checks written in SQL: a name, and a query whose rows (one text column)
/// each describe a violation.
fn sql_checks() -> Vec<(&'static str, String)> {
    vec![
        (
            "every run ended completed (or continued as new)",
            "SELECT workflow_id || ' is ' || status FROM continuum_runs \
             WHERE status NOT IN ('completed', 'continued')"
                .into(),
        ),
        (
            "seqs are dense: 1..last_seq, last_seq the largest",
            "SELECT r.workflow_id || ': ' || count(e.seq) || ' events, seqs ' || coalesce(min(e.seq), 0) || '..' \
             || coalesce(max(e.seq), 0) || ', last_seq ' || r.last_seq \
             FROM continuum_runs r LEFT JOIN continuum_events e ON e.run_id = r.id \
             GROUP BY r.id, r.workflow_id, r.last_seq \
             HAVING count(e.seq) = 0 OR min(e.seq) <> 1 OR max(e.seq) <> count(e.seq) OR max(e.seq) <> r.last_seq"
                .into(),
        ),
        (
            "no events without a run",
            "SELECT 'events of missing run ' || run_id FROM continuum_events e \
             WHERE NOT EXISTS (SELECT 1 FROM continuum_runs r WHERE r.id = e.run_id) GROUP BY run_id"
                .into(),
        ),
        (
            "one terminal event per run, and it is the last",
            "SELECT r.workflow_id || ': ' || count(e.seq) || ' terminal events' FROM continuum_runs r \
             LEFT JOIN continuum_events e ON e.run_id = r.id AND e.event::jsonb->>'type' IN \
             ('run_completed', 'run_failed', 'run_cancelled', 'run_continued_as_new') \
             GROUP BY r.id, r.workflow_id, r.last_seq HAVING count(e.seq) <> 1 OR max(e.seq) <> r.last_seq"
                .into(),
        ),
        (
            "at most one resolution per command (run, seq)",
            format!(
                "SELECT r.workflow_id || ': command ' || x.command || ' resolved ' || count(*) || ' times' \
                 FROM (SELECT run_id, coalesce(e->>'scheduled', e->>'started', e->>'awaited') AS command \
                       FROM (SELECT run_id, event::jsonb AS e FROM continuum_events) j \
                       WHERE e->>'type' IN {RESOLUTIONS}) x \
                 JOIN continuum_runs r ON r.id = x.run_id \
                 GROUP BY r.id, r.workflow_id, x.command HAVING count(*) > 1"
            ),
        ),
        (
            "a run continues as new at most once, and into a run that exists",
            "SELECT r.workflow_id || ' continued ' || count(s.id) || ' times' FROM continuum_runs r \
             LEFT JOIN continuum_runs s ON s.continued_from = r.id \
             WHERE r.status = 'continued' OR s.id IS NOT NULL \
             GROUP BY r.id, r.workflow_id, r.status HAVING count(s.id) <> 1 OR r.status <> 'continued'"
                .into(),
        ),
        (
            "every child run's parent exists",
            "SELECT c.workflow_id || ' names parent ' || c.parent_id || ', which does not exist' \
             FROM continuum_runs c WHERE c.parent_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM continuum_runs p WHERE p.id = c.parent_id)"
                .into(),
        ),
        (
            "one child run per child_started command",
            "SELECT parent_id || '/' || parent_seq || ' has ' || count(*) || ' child runs' FROM continuum_runs \
             WHERE parent_id IS NOT NULL AND continued_from IS NULL \
             GROUP BY parent_id, parent_seq HAVING count(*) > 1"
                .into(),
        ),
        (
            "no task row, mailbox signal or child outcome left for an ended run",
            "SELECT 'task ' || t.seq || ' of ' || coalesce(r.workflow_id, t.run_id::text) || ' (' \
             || coalesce(r.status, 'no run') || ')' FROM continuum_tasks t \
             LEFT JOIN continuum_runs r ON r.id = t.run_id WHERE r.status IS DISTINCT FROM 'running' \
             UNION ALL \
             SELECT 'signal ' || s.payload || ' left for ' || coalesce(r.workflow_id, s.run_id::text) \
             FROM continuum_signals s LEFT JOIN continuum_runs r ON r.id = s.run_id \
             WHERE r.status IS DISTINCT FROM 'running' \
             UNION ALL \
             SELECT 'child outcome left for ' || coalesce(r.workflow_id, o.parent_id::text) \
             FROM continuum_child_outcomes o LEFT JOIN continuum_runs r ON r.id = o.parent_id \
             WHERE r.status IS DISTINCT FROM 'running'"
                .into(),
        ),
        (
            "each activity step is scheduled once in all the histories",
            "SELECT key || ' scheduled ' || n || ' times' FROM (SELECT event::jsonb->'input'->>'key' AS key, \
             count(*) AS n FROM continuum_events WHERE event::jsonb->>'type' = 'activity_scheduled' GROUP BY 1) k \
             WHERE n > 1"
                .into(),
        ),
        (
            "every completed step executed at least once (oracle), and nothing executed that no history schedules",
            format!(
                "SELECT key || ' completed ' || completed || ', executed ' || executed FROM ({STEPS}) s \
                     WHERE (completed > 0 AND executed = 0) OR scheduled = 0"
            ),
        ),
    ]
}

/// Each activity step: how many times it is scheduled and completed in
/// the histories, and executed in the oracle table.
const STEPS: &str = "SELECT key, count(*) FILTER (WHERE t = 'activity_scheduled') AS scheduled, \
                     count(*) FILTER (WHERE t = 'activity_completed') AS completed, \
                     coalesce(max(o.n), 0) AS executed \
                     FROM (SELECT s.event::jsonb->'input'->>'key' AS key, c.event::jsonb->>'type' AS t \
                           FROM continuum_events s JOIN continuum_events c ON c.run_id = s.run_id \
                           AND (c.seq = s.seq OR (c.event::jsonb->>'scheduled')::bigint = s.seq) \
                           WHERE s.event::jsonb->>'type' = 'activity_scheduled') h \
                     FULL JOIN (SELECT key, count(*) AS n FROM fault_oracle GROUP BY key) o USING (key) \
                     GROUP BY key";

/// What the checks found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Figures worth reporting, in order.
    pub figures: Vec<(&'static str, u64)>,
    /// Every violation, prefixed with the invariant it breaks.
    pub violations: Vec<String>,
}

impl Checked {
    fn violation(&mut self, invariant: &str, what: impl std::fmt::Display) {
        self.violations.push(format!("{invariant}: {what}"));
    }
}

/// Runs every check.
pub async fn check(journal: &PostgresJournal, pool: &PgPool, runs: u32, sent: &[Sent]) -> Checked {
    let mut checked = Checked::default();
    for (name, sql) in sql_checks() {
        let rows: Vec<String> =
            sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap_or_else(|e| panic!("check `{name}`: {e}"));
        for row in rows {
            checked.violation(name, row);
        }
    }
    figures(pool, &mut checked).await;
    results(journal, runs, &mut checked).await;
    signals(pool, sent, &mut checked).await;
    replays(journal, pool, &mut checked).await;
    checked
}

async fn figures(pool: &PgPool, checked: &mut Checked) {
    let queries = [
        ("runs (every run of every chain, children included)", "SELECT count(*) FROM continuum_runs"),
        ("child runs", "SELECT count(*) FROM continuum_runs WHERE parent_id IS NOT NULL AND continued_from IS NULL"),
        (
            "runs continued from another (relay chains)",
            "SELECT count(*) FROM continuum_runs WHERE continued_from IS NOT NULL",
        ),
        ("events", "SELECT count(*) FROM continuum_events"),
        ("activity executions (oracle rows)", "SELECT count(*) FROM fault_oracle"),
        (
            "activity steps completed",
            "SELECT count(*) FROM continuum_events WHERE event::jsonb->>'type' = 'activity_completed'",
        ),
        (
            "duplicates (executions beyond one per completed step)",
            "SELECT coalesce(sum(executed - 1), 0)::bigint FROM (STEPS) d WHERE completed > 0 AND executed > 1",
        ),
    ];
    for (label, sql) in queries {
        let sql = sql.replace("(STEPS)", &format!("({STEPS})"));
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{label}: {e}"));
        checked.figures.push((label, u64::try_from(n).unwrap_or(0)));
    }
}

/// Every planned run's chain ended completed with the result its input
/// implies.
async fn results(journal: &PostgresJournal, runs: u32, checked: &mut Checked) {
    const INVARIANT: &str = "every run terminal with the right result";
    for index in 0..runs {
        let planned = plan(index);
        let Some(root) = journal.find_workflow_id(&planned.workflow_id).await.expect("find a run") else {
            checked.violation(INVARIANT, format!("{} was never started", planned.workflow_id));
            continue;
        };
        let tip = journal.chain_tip(root.id).await.expect("chain tip");
        let history = journal.history(tip).await.expect("history");
        match history.last().map(|e| &e.event) {
            Some(Event::RunCompleted { output }) if output.decode::<u64>().ok() == Some(planned.expected()) => {}
            Some(Event::RunCompleted { output }) => checked.violation(
                INVARIANT,
                format!("{} returned {}, expected {}", planned.workflow_id, output.as_json(), planned.expected()),
            ),
            other => checked
                .violation(INVARIANT, format!("{} ended with {:?}", planned.workflow_id, other.map(Event::type_name))),
        }
    }
}

/// Every acknowledged signal (and every one found in the journal after a
/// failed send) is received exactly once, by its own chain, in send
/// order; nothing else is received.
async fn signals(pool: &PgPool, sent: &[Sent], checked: &mut Checked) {
    const INVARIANT: &str = "every acknowledged signal received exactly once, in order";
    let rows: Vec<(String, String)> = sqlx::query_as(
        "WITH RECURSIVE chain (id, workflow_id, pos) AS ( \
             SELECT id, workflow_id, 0 FROM continuum_runs WHERE continued_from IS NULL \
             UNION ALL \
             SELECT r.id, c.workflow_id, c.pos + 1 FROM continuum_runs r JOIN chain c ON r.continued_from = c.id) \
         SELECT c.workflow_id, (e.event::jsonb->'payload')::text FROM chain c \
         JOIN continuum_events e ON e.run_id = c.id \
         WHERE e.event::jsonb->>'type' = 'signal_received' ORDER BY c.workflow_id, c.pos, e.seq",
    )
    .fetch_all(pool)
    .await
    .expect("received signals");
    let fates: HashMap<&Item, Fate> = sent.iter().map(|s| (&s.item, s.fate)).collect();
    let mut times: HashMap<Item, u32> = HashMap::new();
    let mut by_chain: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (chain, body) in rows {
        let item: Item = match Payload::from_json(&body).and_then(|p| p.decode()) {
            Ok(item) => item,
            Err(e) => {
                checked.violation(INVARIANT, format!("{chain} received an unknown body {body}: {e}"));
                continue;
            }
        };
        match fates.get(&item) {
            Some(Fate::Acked | Fate::LandedDespiteError) => {}
            fate => checked.violation(INVARIANT, format!("{chain} received {item:?}, whose send was {fate:?}")),
        }
        if item.run != chain {
            checked.violation(INVARIANT, format!("{chain} received {item:?}, sent to another chain"));
        }
        by_chain.entry(chain).or_default().push(item.index);
        *times.entry(item).or_default() += 1;
    }
    for s in sent.iter().filter(|s| matches!(s.fate, Fate::Acked | Fate::LandedDespiteError)) {
        let n = times.get(&s.item).copied().unwrap_or(0);
        if n != 1 {
            checked.violation(INVARIANT, format!("{:?} ({:?}) received {n} times", s.item, s.fate));
        }
    }
    for (chain, indices) in by_chain {
        if indices.iter().copied().ne(0..u32::try_from(indices.len()).unwrap_or(u32::MAX)) {
            checked.violation(INVARIANT, format!("{chain} received signals {indices:?}, sent 0, 1, …"));
        }
    }
    let count = |fate| u64::try_from(sent.iter().filter(|s| s.fate == fate).count()).unwrap_or(0);
    checked.figures.push(("signals acknowledged", count(Fate::Acked)));
    checked.figures.push(("signals whose send failed but landed", count(Fate::LandedDespiteError)));
    checked.figures.push(("signals whose send failed and did not land (sent again)", count(Fate::NotLanded)));
    checked.figures.push(("signals refused (chain ended)", count(Fate::Refused)));
}

/// Every stored history replays through the workflow code to the end it
/// records.
async fn replays(journal: &PostgresJournal, pool: &PgPool, checked: &mut Checked) {
    const INVARIANT: &str = "every history replays to its recorded end";
    let workflows = workflows();
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM continuum_runs ORDER BY started_at").fetch_all(pool).await.expect("runs");
    for id in ids {
        let run = RunId(id);
        let info = journal.run_info(run).await.expect("run");
        let history = journal.history(run).await.expect("history");
        let Some(workflow) = workflows.iter().find(|w| w.name == info.workflow) else {
            checked.violation(INVARIANT, format!("{}: unknown workflow {}", info.workflow_id, info.workflow));
            continue;
        };
        let expected = match history.last().map(|e| &e.event) {
            Some(Event::RunContinuedAsNew { input, next }) => Replayed::Continued { input: input.clone(), next: *next },
            Some(end) => match RunOutcome::from_event(end) {
                Some(outcome) => Replayed::Ended(outcome),
                None => {
                    checked.violation(INVARIANT, format!("{}: history has no end", info.workflow_id));
                    continue;
                }
            },
            None => {
                checked.violation(INVARIANT, format!("{}: empty history", info.workflow_id));
                continue;
            }
        };
        match replay_history(workflow, run, history) {
            Ok(replayed) if replayed == expected => {}
            other => checked.violation(INVARIANT, format!("{}: replayed to {other:?}", info.workflow_id)),
        }
    }
}
