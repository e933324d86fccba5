//! An order saga: charge, reserve stock, book a courier. The courier
//! refuses, so the stock is released and the payment refunded — most
//! recent step first — and the run fails saying what was undone.
//!
//! ```sh
//! cargo run -p continuum-examples --bin saga
//! ```

use std::time::Duration;

use continuum::prelude::*;
use continuum_examples::saga::{Order, book_courier, charge, place_order, refund, release_stock, reserve_stock};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runtime = Runtime::builder()
        .workflow(place_order)
        .activity(charge)
        .activity(refund)
        .activity(reserve_stock)
        .activity(release_stock)
        .activity(book_courier)
        .start()
        .await?;
    for (id, courier_refuses) in [("a1", false), ("b2", true)] {
        let order = Order { id: id.into(), cents: 4200, courier_refuses };
        let run = runtime.start(place_order, order, StartOptions::id(format!("order-{id}"))).await?;
        match run.result(Duration::from_secs(10)).await {
            Ok(summary) => println!("order {id}: placed — {summary}"),
            Err(e) => println!("order {id}: not placed — {e}"),
        }
        for event in runtime.history(run.id()).await?.iter() {
            println!("  {:>2} {}", event.seq, event.event.type_name());
        }
    }
    Ok(())
}
