// `time::OffsetDateTime::now_utc()` (the `time` crate, stubbed) reads the wall clock.
use continuum::prelude::*;

mod time {
    pub struct OffsetDateTime;
    impl OffsetDateTime {
        pub fn now_utc() -> Self {
            OffsetDateTime
        }
    }
}

#[workflow]
async fn stamp(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = time::OffsetDateTime::now_utc();
    Ok(())
}

fn main() {}
