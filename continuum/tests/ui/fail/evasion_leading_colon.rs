// a fully qualified `::std::time::Instant::now()`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = ::std::time::Instant::now();
    Ok(())
}

fn main() {}
