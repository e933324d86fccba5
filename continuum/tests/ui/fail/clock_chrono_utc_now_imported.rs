// `Utc::now()` via a file-level `use chrono::Utc;` (matched by suffix).
use continuum::prelude::*;
use chrono::Utc;

#[workflow]
async fn stamp(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = Utc::now();
    Ok(())
}

fn main() {}
