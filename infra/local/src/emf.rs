//! The functions' embedded-metric (EMF) lines, kept for `ops metrics`.
//!
//! The functions run in the local runner's process and write their EMF
//! lines to its stdout, as on Lambda (where CloudWatch Logs turns them into
//! metrics). `scripts/dev` pipes that stdout through `emf-capture` (this
//! crate's second binary), which appends the EMF lines to
//! `<state dir>/metrics.jsonl` ([`METRICS_FILE`]) and passes every other line
//! through.

use std::io::{self, BufRead, Write};

/// The file, in the state directory, that keeps the EMF lines.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Whether a line is an EMF line (a JSON object with `_aws` first, as the
/// functions write them).
pub fn is_emf(line: &str) -> bool {
    line.trim_start().starts_with("{\"_aws\"")
}

/// Copies `input` line by line: EMF lines to `metrics` (flushed after each,
/// so `ops metrics` reads them at once), the others to `other`. Returns the
/// EMF lines kept.
pub fn split(
    input: impl BufRead,
    metrics: &mut impl Write,
    other: &mut impl Write,
) -> io::Result<u64> {
    let mut kept = 0;
    for line in input.lines() {
        let line = line?;
        if is_emf(&line) {
            writeln!(metrics, "{line}")?;
            metrics.flush()?;
            kept += 1;
        } else {
            writeln!(other, "{line}")?;
            other.flush()?;
        }
    }
    Ok(kept)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_are_kept_and_the_rest_passes_through() {
        let input = [
            "User Sync is running locally",
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"Function":"worker","AccountsCreated":1}"#,
            "  admin token: t",
            r#"{"other":1}"#,
        ]
        .join("\n");
        let mut metrics = Vec::new();
        let mut other = Vec::new();
        let kept = split(input.as_bytes(), &mut metrics, &mut other).unwrap();
        assert_eq!(kept, 1);
        let metrics = String::from_utf8(metrics).unwrap();
        assert!(metrics.starts_with("{\"_aws\""));
        assert_eq!(metrics.lines().count(), 1);
        let other = String::from_utf8(other).unwrap();
        assert_eq!(
            other,
            "User Sync is running locally\n  admin token: t\n{\"other\":1}\n"
        );
    }
}
