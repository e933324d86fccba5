//! The attribute macros of Continuum. Use them through the `continuum`
//! crate (`use continuum::prelude::*`); the expansion logic lives in
//! `continuum-macros-core`.

use proc_macro::TokenStream;

/// Turns `async fn name(ctx: &WorkflowContext, input: I) -> Result<O, E>`
/// into a registered workflow type named `name`.
///
/// Every `ctx.<effect>(…)` call gets a static site id checked on replay,
/// and the body's span-free token tree is hashed into the workflow's
/// version. Arguments: `name = "…"` (registered name, default the fn name),
/// `crate = path` (where `continuum` is, if renamed).
#[proc_macro_attribute]
pub fn workflow(attr: TokenStream, item: TokenStream) -> TokenStream {
    continuum_macros_core::expand::workflow(attr.into(), item.into()).into()
}

/// Turns `async fn name(input: I) -> Result<O, ActivityError>` into a
/// registered activity type named `name`; the body stays callable as
/// `name::call(input)`.
///
/// Arguments: `retry(max_attempts = 5, initial = "1s", multiplier = 2.0,
/// max = "1m", jitter = 0.2)`, `timeout = "30s"`, `idempotency_key = f`
/// (a `fn(&I) -> impl ToString`), `name = "…"`, `crate = path`.
#[proc_macro_attribute]
pub fn activity(attr: TokenStream, item: TokenStream) -> TokenStream {
    continuum_macros_core::expand::activity(attr.into(), item.into()).into()
}

/// Marks a helper `fn` (or every `fn` in an inline `mod`) as deterministic:
/// its body is checked with the same rules as a workflow's, and workflows
/// may call it without a warning (or, under `#[workflow(strict)]`, an
/// error).
#[proc_macro_attribute]
pub fn pure(attr: TokenStream, item: TokenStream) -> TokenStream {
    continuum_macros_core::expand::pure(attr.into(), item.into()).into()
}

/// On an inline `mod` of workflows: checks each `#[workflow]` in it with
/// the module's own `use` items in view, so an import such as
/// `use chrono::Utc as Clock;` at module level cannot hide `Clock::now()`.
#[proc_macro_attribute]
pub fn workflows(attr: TokenStream, item: TokenStream) -> TokenStream {
    continuum_macros_core::expand::workflows(attr.into(), item.into()).into()
}
