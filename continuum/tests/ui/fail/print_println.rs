// `println!` prints again on every replay.
use continuum::prelude::*;

#[workflow]
async fn chatty(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    println!("charging the card");
    Ok(())
}

fn main() {}
