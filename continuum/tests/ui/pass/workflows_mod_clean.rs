// `#[workflows]` from the prelude on a clean module: activities, several workflows, strict mode, module imports.
use continuum::prelude::*;

#[workflows]
mod shipping {
    use super::*;
    use std::time::Duration;

    #[activity]
    async fn label(order: String) -> Result<String, ActivityError> {
        Ok(format!("LBL-{order}"))
    }

    #[workflow]
    async fn ship(ctx: &WorkflowContext, order: String) -> Result<String, WorkflowError> {
        ctx.sleep(Duration::from_secs(1)).await;
        let text = ctx.activity(label, order).await?;
        Ok(text)
    }

    #[workflow(strict)]
    async fn quick(ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
        Ok(ctx.random_u64())
    }
}

fn main() {}
