// `tokio::sync::mpsc::channel` is a channel the journal does not see.
use continuum::prelude::*;

#[workflow]
async fn piped(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let (_tx, _rx) = tokio::sync::mpsc::channel::<u8>(1);
    Ok(())
}

fn main() {}
