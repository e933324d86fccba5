// a struct named `Instant` declared inside the body is the user's own.
use continuum::prelude::*;

#[workflow]
async fn timed(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    struct Instant;
    impl Instant {
        fn now() -> Instant {
            Instant
        }
        fn ticks(&self) -> u64 {
            42
        }
    }
    Ok(Instant::now().ticks())
}

fn main() {}
