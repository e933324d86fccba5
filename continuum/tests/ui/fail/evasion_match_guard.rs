// `rand::random()` inside a match guard.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let x = 1u8;
    let _y = match x {
        n if rand::random::<bool>() => n,
        n => n,
    };
    Ok(())
}

fn main() {}
