// `chrono::Utc::now()` inside `assert_eq!`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    assert_eq!(chrono::Utc::now().timezone(), chrono::Utc);
    Ok(())
}

fn main() {}
