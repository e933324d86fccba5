// `.signal(run, name, body)` on a `Runtime` (not the ctx) called from a workflow.
use continuum::prelude::*;

static RT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();

#[workflow]
async fn nested(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _ = RT.get().unwrap().signal(ctx.run_id(), "approve", &"yes").await;
    Ok(())
}

fn main() {}
