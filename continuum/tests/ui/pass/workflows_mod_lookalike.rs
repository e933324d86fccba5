// under `#[continuum::workflows]`, a module-level `use crate::clock::Utc;` is the user's own type.
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

#[continuum::workflows]
mod orders {
    use super::*;
    use crate::clock::Utc;

    #[workflow]
    async fn stamped(_ctx: &WorkflowContext, _: ()) -> Result<i64, WorkflowError> {
        Ok(Utc::now().timestamp())
    }
}

fn main() {}
