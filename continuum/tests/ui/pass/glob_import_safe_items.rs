// an in-body glob `use std::time::*;` is fine when only deterministic items (`Duration`) are used.
use continuum::prelude::*;

#[workflow]
async fn paused(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::time::*;
    ctx.sleep(Duration::from_millis(10)).await;
    Ok(())
}

fn main() {}
