// `env!` and `option_env!` are read at compile time, so they are allowed.
use continuum::prelude::*;

#[workflow]
async fn configured(_ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let pkg = env!("CARGO_PKG_NAME");
    let extra = option_env!("CONTINUUM_UI_TEST_UNSET").unwrap_or("none");
    Ok(format!("{pkg} {extra}"))
}

fn main() {}
