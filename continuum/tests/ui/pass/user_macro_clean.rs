// a user macro whose arguments are deterministic is allowed.
use continuum::prelude::*;

macro_rules! twice {
    ($e:expr) => {
        ($e, $e)
    };
}

#[workflow]
async fn paired(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let (a, b) = twice!(n + 2);
    Ok(a + b)
}

fn main() {}
