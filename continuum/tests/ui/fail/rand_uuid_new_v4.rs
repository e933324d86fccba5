// `Uuid::new_v4()` via a file-level `use uuid::Uuid;` (matched by suffix).
use continuum::prelude::*;
use uuid::Uuid;

#[workflow]
async fn mint(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _id = Uuid::new_v4();
    Ok(())
}

fn main() {}
