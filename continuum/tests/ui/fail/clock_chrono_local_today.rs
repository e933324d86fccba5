// `chrono::Local::today()` (deprecated, still a clock read) is rejected.
use continuum::prelude::*;

#[workflow]
async fn dated(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    #[allow(deprecated)]
    let _d = chrono::Local::today();
    Ok(())
}

fn main() {}
