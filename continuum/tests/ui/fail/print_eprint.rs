// `eprint!` prints again on every replay.
use continuum::prelude::*;

#[workflow]
async fn chatty(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    eprint!("charging the card");
    Ok(())
}

fn main() {}
