// deterministic std calls: `Duration::from_secs`, `cmp::max`, `mem::swap`, `iter::repeat`.
use continuum::prelude::*;

#[workflow]
async fn computed(ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let mut a = 1u32;
    let mut b = 2u32;
    std::mem::swap(&mut a, &mut b);
    let top = std::cmp::max(a, b);
    let pause = std::time::Duration::from_secs(1);
    ctx.sleep(pause).await;
    let joined = std::iter::repeat("x").take(2).collect::<String>();
    Ok(format!("{top}{joined}"))
}

fn main() {}
