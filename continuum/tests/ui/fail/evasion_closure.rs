// `SystemTime::now()` inside a closure that is called.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let f = || std::time::SystemTime::now();
    let _t = f();
    Ok(())
}

fn main() {}
