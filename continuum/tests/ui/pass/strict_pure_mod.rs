// the functions of a `#[pure] mod` may be called from a `#[workflow(strict)]`.
use continuum::prelude::*;

#[pure]
mod pricing {
    fn tax(cents: u64) -> u64 {
        cents / 5
    }

    pub fn with_tax(cents: u64) -> u64 {
        cents + tax(cents)
    }

    pub fn rounded(cents: u64) -> u64 {
        cents / 100 * 100
    }
}

#[workflow(strict)]
async fn priced(_ctx: &WorkflowContext, cents: u64) -> Result<u64, WorkflowError> {
    Ok(pricing::rounded(pricing::with_tax(cents)))
}

fn main() {}
