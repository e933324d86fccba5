// a `HashMap` type annotation with a file-level `use std::collections::HashMap;`.
use continuum::prelude::*;
use std::collections::HashMap;

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _m: HashMap<String, u32> = Default::default();
    Ok(())
}

fn main() {}
