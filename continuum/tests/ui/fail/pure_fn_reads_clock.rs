// a `#[pure]` helper is checked too: `SystemTime::now()` inside it is an error.
use continuum::prelude::*;

#[pure]
fn epoch_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[workflow]
async fn stamped(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    Ok(epoch_secs())
}

fn main() {}
