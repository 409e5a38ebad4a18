//! `org` and `token`: organizations and their tokens.

use clap::{Subcommand, ValueEnum};
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
    },
    /// Lists an organization's tokens: id, kind, created, name (never secrets).
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

/// A token's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Calls the admin API.
    Admin,
    /// Calls the SCIM endpoint (the identity provider's).
    Scim,
}
