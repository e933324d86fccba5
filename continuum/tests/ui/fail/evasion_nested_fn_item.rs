// `Instant::now()` inside a `fn` item declared in the body.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    fn started() -> std::time::Instant {
        std::time::Instant::now()
    }
    let _t = started();
    Ok(())
}

fn main() {}
