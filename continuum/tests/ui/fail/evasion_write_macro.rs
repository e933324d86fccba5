// `SystemTime::now()` inside `write!` to a `String`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = write!(s, "{:?}", std::time::SystemTime::now());
    Ok(())
}

fn main() {}
