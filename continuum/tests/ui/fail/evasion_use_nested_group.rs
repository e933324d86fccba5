// a nested group `use std::{time::{SystemTime}, mem};` then `SystemTime::now()`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::{time::{SystemTime}, mem};
    let _t = SystemTime::now();
    let _n = mem::size_of::<u64>();
    Ok(())
}

fn main() {}
