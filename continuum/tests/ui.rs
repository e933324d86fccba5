//! The determinism checker's user-facing errors, pinned as trybuild
//! snapshots: `tests/ui/fail/*.rs` must fail to compile with exactly the
//! reviewed `.stderr` next to each, and `tests/ui/pass/*.rs` must compile.
//!
//! The snapshots are compiler output, so they are pinned to the toolchain
//! in `rust-toolchain.toml`. Regenerate with `TRYBUILD=overwrite cargo test
//! -p continuum --test ui`, then read every changed `.stderr`: they are the
//! error text users see.

#[test]
fn determinism_checker_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
