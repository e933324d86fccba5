// `std::sync::mpsc::channel` is a channel the journal does not see.
use continuum::prelude::*;

#[workflow]
async fn piped(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let (_tx, _rx) = std::sync::mpsc::channel::<u8>();
    Ok(())
}

fn main() {}
