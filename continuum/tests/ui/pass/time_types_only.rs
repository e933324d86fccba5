// naming clock *types* (`Instant`, `SystemTime`, `UNIX_EPOCH`, chrono types) without reading a clock is allowed.
use continuum::prelude::*;

#[workflow]
async fn scheduled(ctx: &WorkflowContext, _: ()) -> Result<i64, WorkflowError> {
    let started: chrono::DateTime<chrono::Utc> = ctx.now();
    let deadline = started + chrono::TimeDelta::seconds(30);
    let pause: std::time::Duration = std::time::Duration::from_millis(250);
    let _epoch: std::time::SystemTime = std::time::UNIX_EPOCH;
    let _none: Option<std::time::Instant> = None;
    ctx.sleep(pause).await;
    Ok(deadline.timestamp())
}

fn main() {}
