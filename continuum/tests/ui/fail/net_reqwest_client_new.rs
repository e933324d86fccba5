// `reqwest::Client::new()` (stubbed) builds a network client.
use continuum::prelude::*;

mod reqwest {
    pub struct Client;
    impl Client {
        pub fn new() -> Self {
            Client
        }
    }
}

#[workflow]
async fn called(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _c = reqwest::Client::new();
    Ok(())
}

fn main() {}
