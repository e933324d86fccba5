// a local variable and a struct field named `rand` are not the `rand` crate.
use continuum::prelude::*;

struct Dice {
    rand: u32,
}

#[workflow]
async fn rolled(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    let rand = 3u32;
    let a = Dice { rand };
    let b = Dice { rand: rand + 1 };
    Ok(rand + a.rand + b.rand)
}

fn main() {}
