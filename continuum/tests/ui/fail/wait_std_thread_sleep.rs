// `std::thread::sleep` blocks on real time.
use continuum::prelude::*;

#[workflow]
async fn nap(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    std::thread::sleep(std::time::Duration::from_millis(10));
    Ok(())
}

fn main() {}
