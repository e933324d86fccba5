// `join` from `continuum::prelude` (and by its full path) is deterministic.
use continuum::prelude::*;

#[workflow]
async fn joined(ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let ((), word) = join(ctx.sleep(seconds(1)), ctx.signal::<String>("word")).await;
    let (again, ()) = continuum::future::join(ctx.signal::<String>("again"), ctx.sleep(seconds(1))).await;
    Ok(format!("{} {}", word?, again?))
}

fn main() {}
