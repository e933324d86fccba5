// several violations in one body are all reported, in source order.
use continuum::prelude::*;

#[workflow]
async fn noisy(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = std::time::SystemTime::now();
    let _n = rand::random::<u64>();
    let _h = tokio::spawn(async {});
    println!("done");
    Ok(())
}

fn main() {}
