// a user type named `Utc`, imported in the body with `use crate::clock::Utc;`, is not chrono's clock.
use continuum::prelude::*;

mod clock {
    pub struct Utc;
    impl Utc {
        pub fn now() -> Utc {
            Utc
        }
        pub fn timestamp(&self) -> i64 {
            0
        }
    }
}

#[workflow]
async fn stamped(_ctx: &WorkflowContext, _: ()) -> Result<i64, WorkflowError> {
    use crate::clock::Utc;
    Ok(Utc::now().timestamp())
}

fn main() {}
