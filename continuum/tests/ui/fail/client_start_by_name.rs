// `.start_by_name(…)` on a file-level `Runtime` called from a workflow.
use continuum::prelude::*;

static RT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();

#[workflow]
async fn nested(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _ = RT.get().unwrap().start_by_name("child", &serde_json::json!({}), StartOptions::id("child-1")).await;
    Ok(())
}

fn main() {}
