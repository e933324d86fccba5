// `eprintln!` prints again on every replay.
use continuum::prelude::*;

#[workflow]
async fn chatty(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    eprintln!("charging the card");
    Ok(())
}

fn main() {}
