// `Instant::now` passed as a function value to `std::iter::repeat_with`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _n = std::iter::repeat_with(std::time::Instant::now).take(1).count();
    Ok(())
}

fn main() {}
