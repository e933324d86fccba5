// `Instant::now()` inside an unknown user macro whose arguments are expressions.
use continuum::prelude::*;

macro_rules! twice {
    ($e:expr) => {
        ($e, $e)
    };
}

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _pair = twice!(std::time::Instant::now());
    Ok(())
}

fn main() {}
