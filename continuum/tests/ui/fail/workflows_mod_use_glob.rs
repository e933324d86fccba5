// `#[continuum::workflows]` resolves the module's own glob `use std::time::*;`: `Instant::now()` is rejected.
use continuum::prelude::*;

#[continuum::workflows]
mod orders {
    use super::*;
    use std::time::*;

    #[workflow]
    async fn timed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
        let _t = Instant::now();
        Ok(())
    }
}

fn main() {}
