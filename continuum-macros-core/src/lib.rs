//! The analysis behind `continuum-macros`, kept in a plain library so it can
//! be unit-tested on token streams and reused by the CLI and the testkit.
//!
//! - [`hash`]: the span-free version hash of a workflow and effect-site ids.
//! - [`sites`]: finds every `ctx.<effect>(…)` call in a workflow body and
//!   gives it a stable site id.
//! - [`expand`]: the expansion of `#[workflow]` and `#[activity]`.
//! - [`check`]: the compile-time determinism checker.
//! - [`duration`]: parses the human durations used in attribute arguments.

pub mod check;
pub mod duration;
pub mod expand;
pub mod hash;
pub mod sites;
