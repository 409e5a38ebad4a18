//! An organization's settings: catalogue, custom attributes, guardrail,
//! activity retention.

use clap::Subcommand;
use user_sync_core::ids::OrgId;

use super::org_id;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Replaces the catalogue's lists: privileges, user groups, device
    /// groups and settings templates, as JSON (the body of the admin API's
    /// PUT /catalog). Products, their names and seats come from the product
    /// API: a file naming products is refused.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// A JSON file, or - for stdin.
        file: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomAttributesCommand {
    /// Sets the attributes of the custom SCIM extension it captures.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// Comma-separated names ("" for none).
        names: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GuardrailCommand {
    /// Sets the share of users (1 to 100 %) a rule change or sync-on may
    /// suspend without "confirm": true.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// 1 to 100 (a trailing % is accepted).
        #[arg(value_parser = percent)]
        percent: u8,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActivityRetentionCommand {
    /// Sets how many days its activity entries are kept, 1 to 3650, or
    /// "default" for the stack's ActivityRetentionDays. Admins can set 90
    /// days or more; fewer only here. Entries written before keep the
    /// expiry they were written with.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// Days (1 to 3650), or "default".
        #[arg(value_parser = retention_days)]
        days: RetentionArg,
    },
}

/// A retention on the command line: days, or the stack's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionArg(pub Option<u32>);

fn retention_days(s: &str) -> Result<RetentionArg, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("default") {
        return Ok(RetentionArg(None));
    }
    let days = s
        .parse::<u32>()
        .map_err(|_| "a number of days from 1 to 3650, or \"default\"".to_owned())?;
    user_sync_core::activity::check_retention(
        Some(days),
        user_sync_core::activity::RetentionSetter::Ops,
    )
    .map_err(|e| e.to_string())?;
    Ok(RetentionArg(Some(days)))
}

fn percent(s: &str) -> Result<u8, String> {
    s.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|p| (1..=100).contains(p))
        .ok_or_else(|| "a percentage from 1 to 100".to_owned())
}
