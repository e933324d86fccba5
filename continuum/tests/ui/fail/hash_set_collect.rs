// `.collect::<HashSet<_>>()` with a file-level import (matched by suffix).
use continuum::prelude::*;
use std::collections::HashSet;

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s = vec![1u8, 2, 3].into_iter().collect::<HashSet<_>>();
    Ok(())
}

fn main() {}
