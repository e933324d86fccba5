// `#[pure]` helpers (also calling each other) may be called from a `#[workflow(strict)]`.
use continuum::prelude::*;

#[pure]
fn bump(x: u32) -> u32 {
    x + 1
}

#[pure]
fn bump_twice(x: u32) -> u32 {
    bump(bump(x))
}

#[workflow(strict)]
async fn counted(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(bump_twice(bump(n)))
}

fn main() {}
