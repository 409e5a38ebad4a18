//! Timestamps as stored and shown: RFC 3339, UTC, millisecond precision, so
//! that they sort as strings.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats a time as `2026-01-02T03:04:05.678Z`.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let ms = t.millisecond();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        ms
    )
}

/// Parses any RFC 3339 timestamp.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sortable_utc() {
        let t = time::macros::datetime!(2026-01-02 03:04:05.678 UTC);
        assert_eq!(format(t), "2026-01-02T03:04:05.678Z");
        assert_eq!(parse("2026-01-02T03:04:05.678Z"), Some(t));
    }
}
