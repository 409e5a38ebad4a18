//! `org` and `token`: organizations and their tokens.

use clap::{Subcommand, ValueEnum};
use user_sync_core::access::Role;
use user_sync_core::ids::OrgId;

use super::org_id;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Creates an organization with one SCIM token and one admin token.
    ///
    /// The tokens are printed once; only their hashes are stored.
    Create {
        /// The new organization's id: letters, digits, '-' and '_'.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// The company name (welcome emails use it).
        name: String,
    },
    /// Lists every organization: id, created, name and its settings.
    ///
    /// Organizations have no index of their own: this scans the
    /// DirectoryTable page by page (its cost grows with the table).
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issues a token; it is printed once, only its hash is stored.
    ///
    /// An admin token's name is the actor of its changes in the activity history.
    Create {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        #[arg(value_enum)]
        kind: KindArg,
        /// 1 to 100 characters on one line ("Sync user" is taken).
        name: String,
        /// An admin API key's role: what it may do (SCIM tokens take none).
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// The key stops working this long from now: `90d`, `12h` (at most
        /// 3650d). Without it the key does not expire.
        #[arg(long, value_parser = lifetime)]
        expires_in: Option<time::Duration>,
    },
    /// Lists an organization's tokens: id, kind, role, created, expires,
    /// last used, name (never secrets).
    List {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
    },
    /// Revokes a token at once.
    Revoke {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// As `token list` shows it.
        token_id: String,
    },
}

/// An admin API key's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything.
    Admin,
    /// Reads everything and may Retry sync; changes no rule, template,
    /// catalogue or sync switch.
    Operator,
    /// Reads only.
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

/// A key's lifetime: a whole number of days (`90d`) or hours (`12h`).
pub(super) fn lifetime(s: &str) -> Result<time::Duration, String> {
    let bad = || format!("{s:?} is not a lifetime such as 90d or 12h");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "d" => time::Duration::days(n),
        "h" => time::Duration::hours(n),
        _ => return Err(bad()),
    };
    if n <= 0 || d > time::Duration::days(3650) {
        return Err(format!(
            "{s:?}: a lifetime is more than 0 and at most 3650d"
        ));
    }
    Ok(d)
}

/// A token's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Calls the admin API.
    Admin,
    /// Calls the SCIM endpoint (the identity provider's).
    Scim,
}
