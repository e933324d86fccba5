// durable timers and signal waits with a timeout.
use continuum::prelude::*;

#[workflow]
async fn waited(ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    ctx.sleep(seconds(1)).await;
    let name = ctx.signal::<String>("x").timeout(seconds(1)).await?;
    let approver: String = ctx.signal("approve").await?;
    Ok(format!("{name} {approver}"))
}

fn main() {}
