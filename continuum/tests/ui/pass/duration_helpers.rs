// the prelude's `millis`/`seconds`/`minutes`/`hours`/`days` durations are allowed (also in strict mode).
use continuum::prelude::*;

#[workflow(strict)]
async fn paced(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    ctx.sleep(millis(5)).await;
    ctx.sleep(seconds(1)).await;
    ctx.sleep(minutes(1)).await;
    ctx.sleep(hours(1)).await;
    ctx.sleep(days(1)).await;
    Ok(())
}

fn main() {}
