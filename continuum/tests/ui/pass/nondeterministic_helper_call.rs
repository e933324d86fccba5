// a call to an unmarked helper wrapped in `nondeterministic!(…)` needs no `#[pure]`, even in strict mode.
use continuum::prelude::*;

fn legacy_score(x: u32) -> u32 {
    x * 3
}

#[workflow(strict)]
async fn scored(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(nondeterministic!(legacy_score(n)))
}

fn main() {}
