// `#[workflow(strict)]` rejects `utils::helper()` when `helper` is not `#[pure]`.
use continuum::prelude::*;

mod utils {
    pub fn helper() -> u32 {
        1
    }
}

#[workflow(strict)]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    Ok(utils::helper())
}

fn main() {}
