// an in-body glob `use std::thread::*;` then a bare `sleep(…)`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::thread::*;
    sleep(std::time::Duration::from_millis(1));
    Ok(())
}

fn main() {}
