// `tokio::task::spawn_local` starts a local task.
use continuum::prelude::*;

#[workflow]
async fn fan_out(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _h = tokio::task::spawn_local(async {});
    Ok(())
}

fn main() {}
