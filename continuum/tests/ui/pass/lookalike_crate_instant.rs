// a user type named `Instant`, imported in the body with `use crate::…`, is not the monotonic clock.
use continuum::prelude::*;

mod clock {
    pub struct Instant;
    impl Instant {
        pub fn now() -> Instant {
            Instant
        }
        pub fn elapsed(&self) -> u64 {
            0
        }
    }
}

#[workflow]
async fn timed(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    use crate::clock::Instant;
    let started = Instant::now();
    Ok(started.elapsed())
}

fn main() {}
