// a workflow may return any `E: Display` error, here `String`.
use continuum::prelude::*;

#[activity]
async fn reserve(sku: String) -> Result<String, ActivityError> {
    Ok(format!("reservation for {sku}"))
}

#[workflow]
async fn lenient(ctx: &WorkflowContext, sku: String) -> Result<String, String> {
    ctx.activity(reserve, sku).await.map_err(|e| e.to_string())
}

fn main() {}
