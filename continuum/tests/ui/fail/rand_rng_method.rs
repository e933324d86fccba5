// `rand::Rng` methods on `rand::rng()`: the RNG source is reported.
use continuum::prelude::*;
use rand::Rng;

#[workflow]
async fn roll(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let mut r = rand::rng();
    let _n: u32 = r.random_range(0..10);
    Ok(())
}

fn main() {}
