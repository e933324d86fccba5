// the client, printing and real time are fine *outside* workflow bodies; only `#[workflow]` bodies are checked.
use continuum::prelude::*;

#[workflow]
async fn greet(ctx: &WorkflowContext, name: String) -> Result<String, WorkflowError> {
    ctx.sleep(seconds(1)).await;
    Ok(format!("hello {name}"))
}

#[allow(dead_code)]
async fn launch() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let runtime = Runtime::builder().workflow(greet).start().await?;
    let handle = runtime.start(greet, "dana".to_string(), StartOptions::id("greet-1")).await?;
    let greeting = handle.result(std::time::Duration::from_secs(5)).await?;
    println!("{greeting} after {:?}", started.elapsed());
    Ok(())
}

fn main() {}
