// `std::net::TcpStream::connect` does network I/O.
use continuum::prelude::*;

#[workflow]
async fn called(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s = std::net::TcpStream::connect("127.0.0.1:9");
    Ok(())
}

fn main() {}
