// `nondeterministic!(…)` is the escape hatch: its contents are not checked.
use continuum::prelude::*;

#[workflow]
async fn measured(ctx: &WorkflowContext, _: ()) -> Result<u128, WorkflowError> {
    let started = nondeterministic!(std::time::Instant::now());
    ctx.sleep(seconds(1)).await;
    let _wall = nondeterministic!(std::time::SystemTime::now());
    nondeterministic!(println!("debugging"));
    Ok(nondeterministic!(started.elapsed().as_nanos()) * 0)
}

fn main() {}
