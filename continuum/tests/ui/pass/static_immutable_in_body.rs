// an immutable `static` and a `const` declared in the body are not global mutable state.
use continuum::prelude::*;

#[workflow]
async fn greeted(_ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    static GREETINGS: [&str; 2] = ["hello", "hi"];
    const LIMIT: usize = 2;
    Ok(GREETINGS[..LIMIT].join(","))
}

fn main() {}
