// `reqwest::get` (stubbed) does network I/O.
use continuum::prelude::*;

mod reqwest {
    pub async fn get(_: &str) -> Result<String, ()> {
        Ok(String::new())
    }
}

#[workflow]
async fn called(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _r = reqwest::get("https://example.com").await;
    Ok(())
}

fn main() {}
