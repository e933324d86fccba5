//! What workflow code is written against: the traits `#[workflow]` and
//! `#[activity]` implement (with their type-erased forms the registry
//! keeps), and the [`WorkflowContext`](context::WorkflowContext) a
//! workflow performs its effects through — one file per effect family
//! under `context/`.
//!
//! The traits and the context belong together: a workflow's body takes a
//! context, and the context's effects are typed by the activity or child
//! workflow they call. Nothing here knows about journals or the engine.

pub mod context;
mod definition;

pub use self::definition::*;
