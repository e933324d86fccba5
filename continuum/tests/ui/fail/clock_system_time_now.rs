// `SystemTime::now()` via a file-level import (matched by suffix).
use continuum::prelude::*;
use std::time::SystemTime;

#[workflow]
async fn stamp(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = SystemTime::now();
    Ok(())
}

fn main() {}
