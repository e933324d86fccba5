// `std::thread::spawn` starts an OS thread.
use continuum::prelude::*;

#[workflow]
async fn fan_out(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _h = std::thread::spawn(|| ());
    Ok(())
}

fn main() {}
