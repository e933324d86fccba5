// `ctx.side_effect(|| …)` records a value once; its closure is allowed.
use continuum::prelude::*;

#[workflow]
async fn recorded(ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let n: u32 = ctx.side_effect(|| 42u32);
    let label = ctx.side_effect(|| String::from("batch"));
    Ok(format!("{label}-{n}"))
}

fn main() {}
