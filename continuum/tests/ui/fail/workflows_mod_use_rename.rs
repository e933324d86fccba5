// `#[continuum::workflows]` resolves the module's own `use chrono::Utc as Clock;`: `Clock::now()` is rejected.
use continuum::prelude::*;

#[continuum::workflows]
mod orders {
    use super::*;
    use chrono::Utc as Clock;

    #[workflow]
    async fn stamp(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
        let _t = Clock::now();
        Ok(())
    }
}

fn main() {}
