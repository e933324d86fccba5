//! Human durations in attribute arguments: `timeout = "30s"`,
//! `initial = "250ms"`, `max = "1m 30s"`.
//!
//! Parsed at expansion time so a typo is a compile error on the literal, not
//! a panic when the activity first runs.

use std::time::Duration;

/// Parses a human duration (`"30s"`, `"250ms"`, `"1h 30m"`).
///
/// Returns a message suitable for a spanned compile error when the text is
/// not a duration or is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. \"30s\", \"250ms\", \"1h 30m\""))?;
    if parsed.is_zero() {
        return Err(format!("`{text}` is zero; a duration here must be positive"));
    }
    Ok(parsed)
}

/// The duration as whole milliseconds, saturating at `u64::MAX`.
pub fn as_millis_u64(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_units() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration(" 1h 30m ").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn rejects_garbage_and_zero_with_a_hint() {
        let err = parse_duration("thirty seconds").unwrap_err();
        assert!(err.contains("\"30s\""), "{err}");
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
    }
}
