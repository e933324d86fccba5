// `#[continuum::workflows(x)]`: the module attribute takes no arguments.
use continuum::prelude::*;

#[continuum::workflows(x)]
mod orders {
    use super::*;

    #[workflow]
    async fn napped(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
        ctx.sleep(seconds(1)).await;
        Ok(())
    }
}

fn main() {}
