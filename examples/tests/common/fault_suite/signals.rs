//! The signal sender: the test process sends each relay chain its
//! signals, one at a time and in order, through a runtime that registers
//! no workflow, and writes down what became of every send.
//!
//! A send that fails may still have landed (the connection was cut after
//! the insert committed). The sender then looks for the body in the
//! journal — in a mailbox or consumed — in one statement, so it cannot
//! miss a signal consumed between two looks; a body found counts as
//! sent, a body not found is sent again as a new attempt (a new body).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use continuum::{Journal, Payload, Runtime, SignalSendError};
use continuum_examples::workload::{ITEM, Item, plan};
use continuum_postgres::PostgresJournal;
use sqlx::PgPool;

/// What became of one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// `signal` returned `Ok`.
    Acked,
    /// `signal` failed, and the body was found in the journal.
    LandedDespiteError,
    /// `signal` failed, and the body was nowhere in the journal.
    NotLanded,
    /// `signal` said the chain had ended.
    Refused,
}

/// One send.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The body.
    pub item: Item,
    /// What became of it.
    pub fate: Fate,
}

/// Every send so far, shared with the sender tasks.
pub type Ledger = Arc<Mutex<Vec<Sent>>>;

/// What the sender needs.
#[derive(Debug, Clone)]
pub struct Sender {
    /// A runtime registering no workflow.
    pub client: Runtime,
    /// To find the runs.
    pub journal: PostgresJournal,
    /// To look for a body after a failed send.
    pub pool: PgPool,
    /// Where sends are written down.
    pub ledger: Ledger,
}

impl Sender {
    /// Sends every relay of the load its signals, once it has started
    /// (run `i` is due at `first + spread * i / runs`); the set ends when
    /// every signal has been sent (or refused).
    pub fn spawn(
        &self,
        runs: u32,
        first: tokio::time::Instant,
        spread: Duration,
        seed: u64,
    ) -> tokio::task::JoinSet<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..runs {
            let planned = plan(index);
            if planned.signals() == 0 {
                continue;
            }
            let sender = self.clone();
            let rng = fastrand::Rng::with_seed(seed ^ u64::from(index));
            let due = first + spread * index / runs;
            tasks.spawn(async move {
                tokio::time::sleep_until(due).await;
                sender.send_all(&planned.workflow_id, planned.signals(), rng).await;
            });
        }
        tasks
    }

    async fn send_all(&self, workflow_id: &str, signals: u32, mut rng: fastrand::Rng) {
        let root = loop {
            match self.journal.find_workflow_id(workflow_id).await {
                Ok(Some(info)) => break info.id,
                Ok(None) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        for index in 0..signals {
            let mut attempt = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(rng.u64(50..=500))).await;
                let item = Item { run: workflow_id.to_owned(), index, attempt };
                let fate = match self.client.signal(root, ITEM, &item).await {
                    Ok(()) => Fate::Acked,
                    Err(SignalSendError::RunTerminal { .. }) => Fate::Refused,
                    Err(_) if self.landed(&item).await => Fate::LandedDespiteError,
                    Err(_) => Fate::NotLanded,
                };
                self.ledger.lock().expect("ledger").push(Sent { item, fate });
                match fate {
                    Fate::Acked | Fate::LandedDespiteError => break,
                    Fate::NotLanded => attempt += 1,
                    Fate::Refused => return,
                }
            }
        }
    }

    /// Whether `item` is in the journal, waiting or consumed; asks until
    /// the database answers.
    async fn landed(&self, item: &Item) -> bool {
        let body = Payload::encode(item).expect("an item encodes");
        loop {
            let found = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM continuum_signals WHERE payload = $1) \
                 OR EXISTS (SELECT 1 FROM continuum_events WHERE event::jsonb->>'type' = 'signal_received' \
                            AND event::jsonb->'payload' = $1::jsonb)",
            )
            .bind(body.as_json())
            .fetch_one(&self.pool)
            .await;
            match found {
                Ok(found) => return found,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}
