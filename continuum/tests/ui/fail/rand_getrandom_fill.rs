// `getrandom::fill` reads OS entropy.
use continuum::prelude::*;

#[workflow]
async fn roll(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let mut buf = [0u8; 8];
    let _ = getrandom::fill(&mut buf);
    Ok(())
}

fn main() {}
