// `#[workflow(strcit)]`: a misspelt argument is a spanned error naming the valid ones.
use continuum::prelude::*;

#[workflow(strcit)]
async fn typo(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    ctx.sleep(seconds(1)).await;
    Ok(())
}

fn main() {}
