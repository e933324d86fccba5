// an in-body glob `use tokio::*;` then a bare `spawn(…)`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use tokio::*;
    let _h = spawn(async {});
    Ok(())
}

fn main() {}
