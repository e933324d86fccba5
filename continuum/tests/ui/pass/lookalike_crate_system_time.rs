// a user type named `SystemTime`, imported in the body with `use crate::…`, is not the OS clock.
use continuum::prelude::*;

mod clock {
    pub struct SystemTime;
    impl SystemTime {
        pub fn now() -> SystemTime {
            SystemTime
        }
        pub fn secs(&self) -> u64 {
            0
        }
    }
}

#[workflow]
async fn stamped(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    use crate::clock::SystemTime;
    Ok(SystemTime::now().secs())
}

fn main() {}
