// `uuid::Uuid::new_v4()` draws a random id.
use continuum::prelude::*;

#[workflow]
async fn mint(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _id = uuid::Uuid::new_v4();
    Ok(())
}

fn main() {}
