// `std::process::Command::new` prepares an OS process.
use continuum::prelude::*;

#[workflow]
async fn shelled(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _cmd = std::process::Command::new("ls");
    Ok(())
}

fn main() {}
