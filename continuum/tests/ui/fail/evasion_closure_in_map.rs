// `Instant::now()` inside a closure passed to `Option::map`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = Some(1).map(|_| ()).map(|_| std::time::Instant::now());
    Ok(())
}

fn main() {}
