// `Instant::now()` inside an awaited `async` block.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = async { std::time::Instant::now() }.await;
    Ok(())
}

fn main() {}
