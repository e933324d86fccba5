// every function of a `#[pure] mod` is checked: `rand::random()` inside one is an error.
use continuum::prelude::*;

#[pure]
mod helpers {
    pub fn a() -> u64 {
        rand::random()
    }
}

#[workflow]
async fn rolled(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    Ok(helpers::a())
}

fn main() {}
