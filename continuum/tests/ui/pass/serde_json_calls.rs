// `serde_json::to_string` and `serde_json::json!` are allowed.
use continuum::prelude::*;

#[derive(Serialize)]
struct Line {
    sku: String,
}

#[workflow]
async fn encoded(_ctx: &WorkflowContext, sku: String) -> Result<String, WorkflowError> {
    let line = Line { sku };
    let text = serde_json::to_string(&line).map_err(|e| WorkflowError::msg(e.to_string()))?;
    let value = serde_json::json!({ "text": text, "n": 1 });
    Ok(value.to_string())
}

fn main() {}
