//! A subscription that continues as new each billing cycle: every run of
//! the chain has a one-cycle history, signals sent to the first run reach
//! the current one, and awaiting the first run returns the final total.
//!
//! ```sh
//! cargo run -p continuum-examples --bin subscription
//! ```

use std::time::Duration;

use continuum::Event;
use continuum::prelude::*;
use continuum_examples::subscription::{Account, bill, subscription};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runtime = Runtime::builder().workflow(subscription).activity(bill).start().await?;
    let account = Account { customer: "dana".into(), cycle: 0, billed: 0, max_cycles: 3 };
    let run = runtime.start(subscription, account, StartOptions::id("sub-dana")).await?;
    // Addressed to the chain's first run. Each cycle takes one; the rest
    // wait in the mailbox, which moves on to the next cycle's run.
    for usage in [1200u64, 800, 1500] {
        run.signal("usage", &usage).await?;
    }
    let total = run.result(Duration::from_secs(10)).await?;
    println!("sub-dana billed {total} cents over 3 cycles");
    let mut id = run.id();
    loop {
        let history = runtime.history(id).await?;
        let kinds: Vec<_> = history.iter().map(|e| e.event.type_name()).collect();
        println!("  run {id}: {}", kinds.join(", "));
        match history.last().map(|e| &e.event) {
            Some(Event::RunContinuedAsNew { next, .. }) => id = *next,
            _ => break,
        }
    }
    Ok(())
}
