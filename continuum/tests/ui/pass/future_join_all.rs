// `join_all` and `select_all` from `continuum::prelude` are deterministic.
use continuum::prelude::*;

#[workflow]
async fn waited(ctx: &WorkflowContext, _: ()) -> Result<usize, WorkflowError> {
    let done: Vec<()> = join_all(vec![ctx.sleep(seconds(1)), ctx.sleep(seconds(2))]).await;
    let (first, ()) = select_all(vec![ctx.sleep(seconds(3)), ctx.sleep(seconds(4))]).await;
    Ok(done.len() + first)
}

fn main() {}
