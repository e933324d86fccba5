//! Workflows shared by the example binaries and the process-level tests.

/// Sends the process's logs to stderr, filtered by `RUST_LOG` (`warn`
/// when unset): how the worker binaries log, stdout being their answer.
pub fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
}

pub mod orders {
    //! A small order workflow: reserve stock, wait on a durable timer,
    //! ship. With `CONTINUUM_HANG_IN_SHIP=1` the `ship` activity announces
    //! itself (a file in `CONTINUUM_MARKER_DIR`) and then hangs, so a test
    //! can kill the process with SIGKILL in the middle of it.

    use std::time::Duration;

    use continuum::prelude::*;

    /// Reserves stock; returns the units reserved.
    #[activity(retry(max_attempts = 3, initial = "100ms"))]
    pub async fn reserve(order: String) -> Result<u32, ActivityError> {
        Ok(u32::try_from(order.len()).unwrap_or(0))
    }

    /// Ships the units; returns a shipment number.
    #[activity(retry(max_attempts = 3, initial = "100ms"))]
    pub async fn ship(units: u32) -> Result<u32, ActivityError> {
        if let Some(dir) = std::env::var_os("CONTINUUM_MARKER_DIR") {
            let marker = std::path::Path::new(&dir).join(format!("ship-{}", std::process::id()));
            std::fs::write(marker, b"").retryable()?;
        }
        if std::env::var_os("CONTINUUM_HANG_IN_SHIP").is_some() {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(units * 10)
    }

    /// Reserve, wait half a second on a durable timer, ship.
    #[workflow]
    pub async fn ship_order(ctx: &WorkflowContext, order: String) -> Result<u32, WorkflowError> {
        let units = ctx.activity(reserve, order).await?;
        ctx.sleep(millis(500)).await;
        let shipped = ctx.activity(ship, units).await?;
        Ok(shipped)
    }

    /// Like `ship_order`, with a timer long enough to kill the process
    /// while the run waits on it (and nothing else would wake the run).
    #[workflow]
    pub async fn timed_order(ctx: &WorkflowContext, order: String) -> Result<u32, WorkflowError> {
        let units = ctx.activity(reserve, order).await?;
        ctx.sleep(seconds(4)).await;
        let shipped = ctx.activity(ship, units).await?;
        Ok(shipped)
    }
}

pub mod batch {
    //! A batch parent fanning out to child workflows and collecting their
    //! results: one child per order, each its own run (own history, own
    //! lease), all started before any is awaited.

    use continuum::prelude::*;

    use crate::orders::{ship_order, timed_order};

    /// Ships every order in its own child run and returns their shipment
    /// numbers, in order.
    #[workflow]
    pub async fn ship_batch(ctx: &WorkflowContext, orders: Vec<String>) -> Result<Vec<u32>, WorkflowError> {
        let mut children = Vec::new();
        for order in orders {
            children.push(ctx.start_child(ship_order, order.clone()).key(order).await?);
        }
        let mut shipped = Vec::new();
        for child in children {
            shipped.push(child.result().await?);
        }
        Ok(shipped)
    }

    /// Like [`ship_batch()`], with children that wait 4 s on a timer (long
    /// enough to kill the process while they wait).
    #[workflow]
    pub async fn ship_batch_slowly(ctx: &WorkflowContext, orders: Vec<String>) -> Result<Vec<u32>, WorkflowError> {
        let mut children = Vec::new();
        for order in orders {
            children.push(ctx.start_child(timed_order, order.clone()).key(order).await?);
        }
        let mut shipped = Vec::new();
        for child in children {
            shipped.push(child.result().await?);
        }
        Ok(shipped)
    }
}

pub mod saga {
    //! An order saga: charge the card, reserve stock, book the courier;
    //! when a step fails, the steps done so far are undone, most recent
    //! first (the refund last).

    use continuum::prelude::*;

    /// The order being placed.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Order {
        /// Order id.
        pub id: String,
        /// Amount in cents.
        pub cents: u64,
        /// Makes the courier refuse the booking (to see the saga unwind).
        pub courier_refuses: bool,
    }

    /// A payment taken.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Payment {
        /// Order id.
        pub order: String,
        /// Amount in cents.
        pub cents: u64,
    }

    /// Takes the payment.
    #[activity(retry(max_attempts = 3, initial = "100ms"))]
    pub async fn charge(order: Order) -> Result<Payment, ActivityError> {
        Ok(Payment { order: order.id, cents: order.cents })
    }

    /// Gives the payment back: the charge's compensation.
    #[activity(retry(max_attempts = 5, initial = "100ms"))]
    pub async fn refund(payment: Payment) -> Result<String, ActivityError> {
        Ok(format!("refunded {} cents for {}", payment.cents, payment.order))
    }

    /// Holds the stock; returns the reservation id.
    #[activity]
    pub async fn reserve_stock(order: Order) -> Result<String, ActivityError> {
        Ok(format!("hold-{}", order.id))
    }

    /// Releases a reservation: the reservation's compensation.
    #[activity]
    pub async fn release_stock(hold: String) -> Result<(), ActivityError> {
        let _ = hold;
        Ok(())
    }

    /// Books the courier; refuses when the order says so.
    #[activity(retry(max_attempts = 1))]
    pub async fn book_courier(order: Order) -> Result<String, ActivityError> {
        if order.courier_refuses {
            return Err(ActivityError::non_retryable(format!("no courier for {}", order.id)));
        }
        Ok(format!("courier-{}", order.id))
    }

    /// Places an order; on failure undoes what was done, most recent first,
    /// and fails with the reason and what was undone.
    #[workflow]
    pub async fn place_order(ctx: &WorkflowContext, order: Order) -> Result<String, WorkflowError> {
        let placed = async {
            let payment = ctx.activity(charge, order.clone()).compensate_with(refund).await?;
            let hold = ctx.activity(reserve_stock, order.clone()).compensate_with(release_stock).await?;
            let courier = ctx.activity(book_courier, order.clone()).await?;
            Ok::<_, WorkflowError>(format!("{} paid {} cents, {}, {courier}", order.id, payment.cents, *hold))
        }
        .await;
        match placed {
            Ok(summary) => Ok(summary),
            Err(error) => {
                let report = ctx.compensate_all().await;
                Err(WorkflowError::msg(format!(
                    "{error}; undone: {}; failed to undo: {}",
                    report.completed.join(", "),
                    report.failed.len()
                )))
            }
        }
    }
}

pub mod subscription {
    //! A subscription that continues as new each billing cycle, so its
    //! history stays one cycle long however long it runs. Usage arrives
    //! as `usage` signals (a cycle without one bills nothing after 31
    //! days); it ends after `max_cycles` cycles, or when cancelled.

    use continuum::prelude::*;

    /// What a cycle carries over.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Account {
        /// Customer.
        pub customer: String,
        /// Cycles billed so far.
        pub cycle: u32,
        /// Total billed so far, in cents.
        pub billed: u64,
        /// Stop after this many cycles (a demo's safety net).
        pub max_cycles: u32,
    }

    /// Bills one cycle's usage; returns the invoice number.
    #[activity]
    pub async fn bill(input: (String, u32, u64)) -> Result<String, ActivityError> {
        let (customer, cycle, cents) = input;
        Ok(format!("INV-{customer}-{cycle}-{cents}"))
    }

    /// One billing cycle: wait for the cycle's usage, bill it, then
    /// continue as new with the account carried over.
    #[workflow]
    pub async fn subscription(ctx: &WorkflowContext, account: Account) -> Result<u64, WorkflowError> {
        let usage: u64 = ctx.signal("usage").timeout(days(31)).await.unwrap_or(0);
        ctx.activity(bill, (account.customer.clone(), account.cycle, usage)).await?;
        let next = Account { cycle: account.cycle + 1, billed: account.billed + usage, ..account };
        if next.cycle >= next.max_cycles {
            return Ok(next.billed);
        }
        ctx.continue_as_new(next).await
    }
}

/// `url` with its database replaced by `db` (query parameters kept), for
/// the benches that create a database of their own.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

pub mod onboarding;
pub mod workload;
