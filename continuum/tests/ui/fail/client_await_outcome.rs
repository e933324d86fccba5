// `.await_outcome(…)` on a file-level `Runtime` called from a workflow.
use continuum::prelude::*;

static RT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();

#[workflow]
async fn nested(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _outcome = RT.get().unwrap().await_outcome(ctx.run_id(), std::time::Duration::from_secs(1));
    Ok(())
}

fn main() {}
