// `HashMap::new()` after an in-body `use std::collections::HashMap;`.
use continuum::prelude::*;

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::collections::HashMap;
    let _m = HashMap::<u8, u8>::new();
    Ok(())
}

fn main() {}
