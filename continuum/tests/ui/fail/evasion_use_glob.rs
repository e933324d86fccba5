// an in-body glob `use std::time::*;` then `Instant::now()`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::time::*;
    let _t = Instant::now();
    Ok(())
}

fn main() {}
