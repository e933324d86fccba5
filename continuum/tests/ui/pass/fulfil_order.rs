// the `fulfil_order` workflow from examples/src/bin/order_fulfilment.rs, whole.
use continuum::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

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

fn main() {}
