// `ctx.now()` and `ctx.today()` are the journaled clock.
use continuum::prelude::*;

#[workflow]
async fn dated(ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let now = ctx.now();
    let today = ctx.today();
    Ok(format!("{now} {today}"))
}

fn main() {}
