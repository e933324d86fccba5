// in strict mode, free functions under std/core/serde_json/continuum/futures and prelude names are trusted.
use continuum::prelude::*;

#[workflow(strict)]
async fn trusted(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    let a = std::cmp::max(n, 3);
    let b = core::cmp::min(a, 10);
    let v = serde_json::to_value(b).map_err(|e| WorkflowError::msg(e.to_string()))?;
    let s = serde_json::to_string(&v).map_err(|e| WorkflowError::msg(e.to_string()))?;
    ctx.sleep(continuum::time::seconds(1)).await;
    ctx.sleep(seconds(1)).await;
    let ready = futures::future::ready(1u8).await;
    drop(v);
    Ok(format!("{s}{ready}"))
}

fn main() {}
