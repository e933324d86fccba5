// `Instant::now()` inside a user macro with its own (non-expression) syntax is found by the token scan.
use continuum::prelude::*;

macro_rules! stamped {
    (at $e:expr) => {
        $e
    };
}

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = stamped!(at std::time::Instant::now());
    Ok(())
}

fn main() {}
