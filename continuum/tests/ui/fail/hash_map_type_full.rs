// a `std::collections::HashMap` type annotation: random iteration order.
use continuum::prelude::*;

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _m: std::collections::HashMap<u8, u8> = Default::default();
    Ok(())
}

fn main() {}
