// `Instant::now` in the initializer of an (immutable, fn-pointer) `static` declared in the body.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    static NOW: fn() -> std::time::Instant = std::time::Instant::now;
    let _t = NOW();
    Ok(())
}

fn main() {}
