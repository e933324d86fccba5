// `tokio::spawn` starts a task outside the workflow's schedule.
use continuum::prelude::*;

#[workflow]
async fn fan_out(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _h = tokio::spawn(async {});
    Ok(())
}

fn main() {}
