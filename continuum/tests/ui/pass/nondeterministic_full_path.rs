// `continuum::nondeterministic!(…)` by its full path is the same escape hatch.
use continuum::prelude::*;

#[workflow]
async fn measured(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = continuum::nondeterministic!(std::time::SystemTime::now());
    let _n = continuum::nondeterministic!(rand::random::<u64>());
    Ok(())
}

fn main() {}
