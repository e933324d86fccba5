//! Order fulfilment: charge a card (which fails once and is retried),
//! reserve stock, wait for a manager's approval signal, hold for a
//! cooling-off timer, then ship.
//!
//! Halfway through, the example drops its runtime and starts a new one on
//! the same journal, the way a restarted process would: the new runtime
//! replays the run's history and carries on where the first one stopped.
//!
//! Run it with `cargo run -p continuum-examples --bin order_fulfilment`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use continuum::prelude::*;
use continuum::{InMemoryJournal, Journal, RunId};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Order {
    id: String,
    sku: String,
    quantity: u32,
    amount_cents: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Receipt {
    charge_id: String,
    amount_cents: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Approval {
    approved_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Shipment {
    order_id: String,
    tracking: String,
    receipt: Receipt,
    approved_by: String,
}

static CHARGE_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Charges the customer. The payment provider is flaky: the first attempt
/// fails, and the retry policy takes care of it.
#[activity(retry(max_attempts = 5, initial = "200ms", multiplier = 2.0, max = "2s"), timeout = "10s")]
async fn charge_card(order: Order) -> Result<Receipt, ActivityError> {
    let attempt = CHARGE_ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt == 1 {
        println!("  [activity] charge_card attempt {attempt}: payment provider timed out");
        return Err(ActivityError::retryable("payment provider timed out"));
    }
    println!("  [activity] charge_card attempt {attempt}: charged {} cents", order.amount_cents);
    Ok(Receipt { charge_id: format!("ch_{}", order.id), amount_cents: order.amount_cents })
}

/// Reserves stock in the warehouse.
#[activity(retry(max_attempts = 3), timeout = "5s")]
async fn reserve_stock(order: Order) -> Result<String, ActivityError> {
    println!("  [activity] reserve_stock: {} x {}", order.quantity, order.sku);
    Ok(format!("res_{}", order.id))
}

/// Hands the parcel to the carrier.
#[activity(timeout = "5s")]
async fn ship(order: Order) -> Result<String, ActivityError> {
    println!("  [activity] ship: parcel for order {} handed to the carrier", order.id);
    Ok(format!("TRK-{}", order.id.to_uppercase()))
}

/// The workflow: every effect below is journaled; after a restart the
/// function resumes exactly where it stopped.
#[workflow]
async fn fulfil_order(ctx: &WorkflowContext, order: Order) -> Result<Shipment, WorkflowError> {
    let receipt = ctx.activity(charge_card, order.clone()).await?;
    let _reservation = ctx.activity(reserve_stock, order.clone()).await?;
    let approval: Approval = ctx.signal("approval").timeout(hours(24)).await?;
    ctx.sleep(seconds(2)).await;
    let tracking = ctx.activity(ship, order.clone()).await?;
    Ok(Shipment { order_id: order.id, tracking, receipt, approved_by: approval.approved_by })
}

async fn runtime(journal: Arc<InMemoryJournal>) -> anyhow::Result<Runtime> {
    Ok(Runtime::builder()
        .journal(journal)
        .workflow(fulfil_order)
        .activity(charge_card)
        .activity(reserve_stock)
        .activity(ship)
        .start()
        .await?)
}

async fn print_history(journal: &InMemoryJournal, run: RunId) -> anyhow::Result<()> {
    for event in journal.history(run).await?.iter() {
        println!("    #{:<2} {}", event.seq, event.event.type_name());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();

    let journal = Arc::new(InMemoryJournal::new());
    let order = Order { id: "a1001".into(), sku: "KEYBOARD-75".into(), quantity: 2, amount_cents: 15_800 };

    println!("1. starting the order workflow");
    let first = runtime(journal.clone()).await?;
    let handle = first.start(fulfil_order, order, StartOptions::id("order-a1001")).await?;
    let run = handle.id();

    // Let it charge (with one retry) and reserve, then park on the signal.
    loop {
        let history = journal.history(run).await?;
        if history.iter().any(|e| e.event.type_name() == "signal_awaited") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("2. the run is waiting for approval; its history so far:");
    print_history(&journal, run).await?;

    println!("3. stopping the runtime (its in-memory state is gone, the journal stays)");
    drop(handle);
    drop(first);

    println!("4. a new runtime recovers the run by replaying its history");
    let second = runtime(journal.clone()).await?;
    second.signal(run, "approval", &Approval { approved_by: "dana".into() }).await?;
    println!("5. approval signal sent; cooling-off timer of 2s, then shipping");

    let outcome = second.await_outcome(run, Duration::from_secs(30)).await?;
    let shipment: Shipment = match outcome {
        continuum::RunOutcome::Completed(output) => output.decode()?,
        other => anyhow::bail!("order did not complete: {other:?}"),
    };
    println!(
        "6. done: order {} shipped as {} (charge {}, approved by {})",
        shipment.order_id, shipment.tracking, shipment.receipt.charge_id, shipment.approved_by
    );
    println!("   full history:");
    print_history(&journal, run).await?;
    let stats = second.stats().await.unwrap_or_default();
    println!("   the second runtime replayed {} run(s), {} event(s)", stats.runs_replayed, stats.events_replayed);
    Ok(())
}
