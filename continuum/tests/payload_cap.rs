//! Oversize payloads are refused where they are made, with a typed error,
//! and nothing is journaled: at `start`, at `signal`, and at an activity
//! call inside a workflow (which receives the error as a value).

use std::time::Duration;

use continuum::prelude::*;
use continuum::{ActivityErrorKind, EngineConfig, SignalSendError, StartError};

#[activity]
async fn store(blob: String) -> Result<usize, ActivityError> {
    Ok(blob.len())
}

#[workflow]
async fn upload(ctx: &WorkflowContext, size: usize) -> Result<String, WorkflowError> {
    match ctx.activity(store, "x".repeat(size)).await {
        Ok(n) => Ok(format!("stored {n}")),
        Err(e) if e.kind == ActivityErrorKind::Payload => Ok(format!("refused: {}", e.message)),
        Err(e) => Err(WorkflowError::msg(e.to_string())),
    }
}

#[workflow]
async fn inbox(ctx: &WorkflowContext, _input: String) -> Result<String, WorkflowError> {
    Ok(ctx.signal::<String>("note").await?)
}

async fn runtime() -> Runtime {
    Runtime::builder()
        .workflow(upload)
        .workflow(inbox)
        .activity(store)
        .engine_config(EngineConfig { max_payload_bytes: 1024, ..EngineConfig::default() })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_oversize_activity_input_is_an_error_value_for_the_workflow() {
    let rt = runtime().await;
    let small = rt.start(upload, 100, StartOptions::id("small")).await.unwrap();
    assert_eq!(small.result(Duration::from_secs(5)).await.unwrap(), "stored 100");
    let big = rt.start(upload, 5000, StartOptions::id("big")).await.unwrap();
    let out = big.result(Duration::from_secs(5)).await.unwrap();
    assert!(out.starts_with("refused:") && out.contains("exceeds the cap of 1024 bytes"), "{out}");
    let history = rt.history(big.id()).await.unwrap();
    assert!(!history.iter().any(|e| e.event.type_name() == "activity_scheduled"), "nothing was scheduled");
}

#[tokio::test]
async fn an_oversize_start_input_or_signal_body_is_a_typed_error_and_nothing_is_journaled() {
    let rt = runtime().await;
    let refused = rt.start(inbox, "y".repeat(5000), StartOptions::id("too-big")).await;
    assert!(matches!(refused, Err(StartError::InputEncode(_))), "{refused:?}");
    assert!(rt.journal().find_workflow_id("too-big").await.unwrap().is_none());

    let run = rt.start(inbox, String::new(), StartOptions::id("ok")).await.unwrap();
    let sent = run.signal("note", &"z".repeat(5000)).await;
    assert!(matches!(sent, Err(SignalSendError::Encode(_))), "{sent:?}");
    assert!(rt.journal().mailbox(run.id()).await.unwrap().is_empty());
    run.signal("note", &"fits").await.unwrap();
    assert_eq!(run.result(Duration::from_secs(5)).await.unwrap(), "fits");
}
