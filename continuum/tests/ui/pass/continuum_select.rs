// `continuum::select!` is deterministic (the first ready arm wins) and allowed.
use continuum::prelude::*;

#[workflow]
async fn picked(ctx: &WorkflowContext, _: ()) -> Result<u8, WorkflowError> {
    let picked: u8 = continuum::select! {
        r = ctx.signal::<u8>("x") => r.unwrap_or(1),
        _ = ctx.sleep(seconds(1)) => 0
    };
    Ok(picked)
}

fn main() {}
