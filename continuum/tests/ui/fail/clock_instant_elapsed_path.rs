// `Instant::elapsed` used as a function path reads the clock.
use continuum::prelude::*;

#[workflow]
async fn timed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let since = |t: Option<std::time::Instant>| t.as_ref().map(std::time::Instant::elapsed);
    let _e = since(None);
    Ok(())
}

fn main() {}
