// `fastrand::u64(..)` draws randomness.
use continuum::prelude::*;

#[workflow]
async fn roll(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _n = fastrand::u64(..);
    Ok(())
}

fn main() {}
