// `select!` after an in-body `use tokio::select;` is `tokio::select!`.
use continuum::prelude::*;

#[workflow]
async fn raced(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use tokio::select;
    select! {
        _ = ctx.sleep(seconds(1)) => {}
        _ = ctx.sleep(seconds(2)) => {}
    }
    Ok(())
}

fn main() {}
