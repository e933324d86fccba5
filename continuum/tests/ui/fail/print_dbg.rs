// `dbg!` prints again on every replay.
use continuum::prelude::*;

#[workflow]
async fn chatty(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _x = dbg!(1u8);
    Ok(())
}

fn main() {}
