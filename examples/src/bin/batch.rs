//! A batch parent fanning out to child workflows: each order ships in its
//! own child run, all started before any is awaited, and the parent
//! collects their results.
//!
//! ```sh
//! cargo run -p continuum-examples --bin batch
//! ```

use std::time::Duration;

use continuum::Event;
use continuum::prelude::*;
use continuum_examples::batch::ship_batch;
use continuum_examples::orders::{reserve, ship, ship_order};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runtime =
        Runtime::builder().workflow(ship_batch).workflow(ship_order).activity(reserve).activity(ship).start().await?;
    let orders: Vec<String> = ["apples", "pears", "plums"].into_iter().map(String::from).collect();
    let run = runtime.start(ship_batch, orders, StartOptions::id("batch-1")).await?;
    let shipped = run.result(Duration::from_secs(10)).await?;
    println!("batch-1 shipped: {shipped:?}");
    for event in runtime.history(run.id()).await?.iter() {
        match &event.event {
            Event::ChildStarted { child, key, .. } => {
                println!("  {:>2} child_started {} (key {key:?})", event.seq, child);
            }
            other => println!("  {:>2} {}", event.seq, other.type_name()),
        }
    }
    Ok(())
}
