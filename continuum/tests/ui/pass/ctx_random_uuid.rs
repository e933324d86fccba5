// `ctx.uuid4()`, `ctx.random()` and `ctx.random_u64()` are journaled randomness.
use continuum::prelude::*;

#[workflow]
async fn minted(ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let id = ctx.uuid4();
    let fraction = ctx.random();
    let n = ctx.random_u64();
    Ok(format!("{id} {fraction} {n}"))
}

fn main() {}
