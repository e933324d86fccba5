// a `.now()` method on a user value is not a clock read.
use continuum::prelude::*;

struct MyClock;

impl MyClock {
    fn now(&self) -> u64 {
        7
    }
}

#[workflow]
async fn ticked(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    let c = MyClock;
    Ok(c.now())
}

fn main() {}
