//! Limits a run's effects observe, set by `EngineConfig` and read by the
//! workflow context as it issues commands.

/// The default `EngineConfig::max_child_depth`.
pub const DEFAULT_MAX_CHILD_DEPTH: u32 = 10;

/// The default `EngineConfig::max_payload_bytes`: 8 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 8 * 1024 * 1024;

/// The longest error message journaled (an activity's error, a
/// workflow's error or panic message), in bytes. A longer one is cut at a
/// character boundary and ends with a marker giving its original size.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 16 * 1024;

/// Limits a run's effects observe (from `EngineConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The largest payload an effect may journal, in bytes of JSON.
    pub(crate) max_payload: usize,
    /// The deepest child a run may start.
    pub(crate) max_child_depth: u32,
}

impl Limits {
    /// The defaults of `EngineConfig`.
    pub(crate) const DEFAULT: Limits =
        Limits { max_payload: DEFAULT_MAX_PAYLOAD, max_child_depth: DEFAULT_MAX_CHILD_DEPTH };
}
