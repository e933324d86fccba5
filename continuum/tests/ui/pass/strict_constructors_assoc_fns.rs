// in strict mode, constructors (`Some`, `Ok::<_, ()>`) and associated functions (`String::from`) are not helpers.
use continuum::prelude::*;

#[workflow(strict)]
async fn built(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    let a = Some(n).map(|x| x + 1).unwrap_or(0);
    let b = Ok::<_, ()>(a).unwrap_or(0);
    let s = String::from("n");
    let v: Vec<u32> = Vec::with_capacity(2);
    let d = std::time::Duration::from_secs(1);
    ctx.sleep(d).await;
    Ok(format!("{s}{b}{}", v.len()))
}

fn main() {}
