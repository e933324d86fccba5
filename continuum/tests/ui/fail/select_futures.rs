// `futures::select!` picks a random ready branch.
use continuum::prelude::*;

#[workflow]
async fn raced(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let mut a = futures::future::ready(1u8);
    let mut b = futures::future::ready(2u8);
    futures::select! {
        _ = a => {},
        _ = b => {},
    }
    Ok(())
}

fn main() {}
