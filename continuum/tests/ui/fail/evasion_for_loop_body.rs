// `Instant::now()` inside a `for` loop body.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    for _ in 0..2 {
        let _t = std::time::Instant::now();
    }
    Ok(())
}

fn main() {}
