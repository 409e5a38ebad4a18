//! What one read of the directory yields, in the connector's own terms:
//! neither LDAP entries nor SCIM resources. The source produces it, the sync
//! compares it with what the SCIM endpoint holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A user in scope, mapped by the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceUser {
    /// The stable identifier that survives renames and moves (Active
    /// Directory `objectGUID` in its canonical text form, LDAP `entryUUID`):
    /// sent as SCIM `externalId`.
    pub external_id: String,
    /// Where the entry is now (for messages and the dry run only; it changes
    /// on a move).
    pub dn: String,
    pub user_name: String,
    /// False when the directory says the account is disabled.
    pub active: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The primary address first.
    pub emails: Vec<String>,
    pub phone_numbers: Vec<String>,
    pub enterprise: Enterprise,
    /// The organization's custom attributes: SCIM attribute name → value.
    pub custom: BTreeMap<String, String>,
}

/// The SCIM enterprise extension's attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enterprise {
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub cost_center: Option<String>,
    pub division: Option<String>,
    /// The manager's `external_id` (resolved to a SCIM id by the sync).
    pub manager: Option<String>,
}

/// A selected group, with its members expanded through nested groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceGroup {
    /// Stable identifier, as for users: sent as SCIM `externalId`.
    pub external_id: String,
    pub dn: String,
    /// The name sent as SCIM `displayName` (`cn` by default).
    pub name: String,
    /// The `external_id`s of the users in scope who are members, directly or
    /// through nested groups; sorted, no duplicates.
    pub members: Vec<String>,
}

/// Where an incremental read starts from: the directory's change marker at
/// the time of a read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ChangeMarker {
    /// Active Directory: `highestCommittedUSN` of one domain controller; only
    /// meaningful against the same server and database (`invocationId`).
    ActiveDirectory {
        server: String,
        invocation_id: String,
        usn: u64,
    },
    /// Generic LDAP: the greatest `modifyTimestamp` seen (generalized time).
    ModifyTimestamp { timestamp: String },
    /// OpenLDAP: the greatest `entryCSN` seen.
    EntryCsn { csn: String },
}

/// A full read of the scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Sorted by `external_id`.
    pub users: Vec<SourceUser>,
    /// Sorted by `external_id`.
    pub groups: Vec<SourceGroup>,
    /// The marker to read changes from next time, when the directory has one.
    pub marker: Option<ChangeMarker>,
}

/// What changed since a marker: entries modified since, as they are now.
/// Deletions and users leaving the scope are found by full reads only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Users in scope modified since, and every user in scope of the groups
    /// below (a user added to a group is not itself modified in the
    /// directory, so a group read whole brings its users along).
    pub users: Vec<SourceUser>,
    /// Groups modified since (membership included), read whole.
    pub groups: Vec<SourceGroup>,
    pub marker: Option<ChangeMarker>,
}

/// How far a long read is, for progress lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    GroupsRead(usize),
    UsersRead(usize),
}
