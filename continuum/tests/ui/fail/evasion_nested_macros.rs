// `Instant::now()` inside `format!` inside `format!`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s = format!("{}", format!("{:?}", std::time::Instant::now()));
    Ok(())
}

fn main() {}
