// `SystemTime::now()` inside a `loop` body.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    loop {
        let _u = std::time::SystemTime::now();
        break;
    }
    Ok(())
}

fn main() {}
