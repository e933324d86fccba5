// an in-body function rename `use rand::random as r;` then `r::<u8>()`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use rand::random as r;
    let _v = r::<u8>();
    Ok(())
}

fn main() {}
