// `Instant::now()` via a file-level import (matched by suffix).
use continuum::prelude::*;
use std::time::Instant;

#[workflow]
async fn timed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = Instant::now();
    Ok(())
}

fn main() {}
