// `tracing::debug!`, `trace!`, `error!` and `event!` are allowed, also with ctx accessors in fields.
use continuum::prelude::*;

#[workflow]
async fn traced(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let run = ctx.run_id();
    let workflow = ctx.workflow_name();
    if !ctx.is_replaying() {
        tracing::debug!(run = %run, workflow, "started");
    }
    tracing::trace!("tick");
    tracing::event!(tracing::Level::INFO, step = 1, "event");
    ctx.sleep(seconds(1)).await;
    tracing::error!(run = %ctx.run_id(), "done");
    Ok(())
}

fn main() {}
