// `Uuid::now_v7()` reads the clock and draws randomness.
use continuum::prelude::*;
use uuid::Uuid;

#[workflow]
async fn mint(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _id = Uuid::now_v7();
    Ok(())
}

fn main() {}
