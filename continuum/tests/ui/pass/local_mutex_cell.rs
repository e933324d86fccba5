// a local (non-static) `Mutex` or `Cell` is ordinary local state.
use continuum::prelude::*;

#[workflow]
async fn tallied(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    let counter = std::sync::Mutex::new(0u32);
    *counter.lock().unwrap() += 1;
    let cell = std::cell::Cell::new(1u32);
    cell.set(cell.get() + 1);
    let total = *counter.lock().unwrap() + cell.get();
    Ok(total)
}

fn main() {}
