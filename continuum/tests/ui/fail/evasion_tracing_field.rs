// `tracing::info!` is allowed, but `Instant::now()` in one of its fields is found by the token scan.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    tracing::info!(at = ?std::time::Instant::now(), "tick");
    Ok(())
}

fn main() {}
