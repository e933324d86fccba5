// `Instant::now` stored in a variable and called later.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let f = std::time::Instant::now;
    let _t = f();
    Ok(())
}

fn main() {}
