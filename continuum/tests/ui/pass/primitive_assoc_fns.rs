// associated functions of primitive types (`u64::from`, `i64::try_from`) are not helper calls.
use continuum::prelude::*;

#[workflow]
async fn widened(_ctx: &WorkflowContext, small: u8) -> Result<i64, WorkflowError> {
    let wide = u64::from(small);
    let signed = i64::try_from(wide).unwrap_or(0);
    Ok(signed)
}

fn main() {}
