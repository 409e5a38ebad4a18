//! The replicated directory: users and groups as the identity provider sent
//! them, and memberships, one per (group, member).

use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, UserId};

/// A directory user, as stored. `resource` keeps the SCIM representation the
/// identity provider sent (with our `id` and `meta`), so attributes we do not
/// model are not lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectoryUser {
    pub id: UserId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The identity provider deleted the user; we keep it, suspended.
    pub deleted: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The primary (or work) email address.
    pub email: Option<String>,
    pub locale: Option<String>,
    pub created: String,
    pub last_modified: String,
    /// Incremented on every write; the SCIM ETag is derived from it.
    pub version: u64,
}

impl DirectoryUser {
    /// What the rules and the product account depend on. Two users with the
    /// same facts get the same desired state: a change elsewhere (a new
    /// `lastModified`, an attribute nobody reads) is not a change at all.
    pub fn facts(&self) -> UserFacts {
        UserFacts {
            status: self.status(),
            email: self.email.clone().unwrap_or_else(|| self.user_name.clone()),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            locale: self.locale.clone(),
        }
    }

    /// Given and family name, as admins see them; `None` without either.
    pub fn full_name(&self) -> Option<String> {
        let name = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    }

    /// Active, inactive, or deleted in the directory.
    pub fn status(&self) -> DirectoryStatus {
        if self.deleted {
            DirectoryStatus::Deleted
        } else if self.active {
            DirectoryStatus::Active
        } else {
            DirectoryStatus::Inactive
        }
    }
}

/// A user's standing in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryStatus {
    Active,
    Inactive,
    Deleted,
}

/// The part of a directory user that decides its product account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserFacts {
    pub status: DirectoryStatus,
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
}

/// A directory ("organization") group. Read-only to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectoryGroup {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created: String,
    pub last_modified: String,
    pub version: u64,
}

/// One member of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Membership {
    pub group_id: GroupId,
    pub user_id: UserId,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(given: Option<&str>, family: Option<&str>) -> DirectoryUser {
        DirectoryUser {
            id: UserId::parse("u1").unwrap(),
            user_name: "ada@example.com".into(),
            external_id: None,
            active: true,
            deleted: false,
            given_name: given.map(str::to_owned),
            family_name: family.map(str::to_owned),
            email: None,
            locale: None,
            created: String::new(),
            last_modified: String::new(),
            version: 1,
        }
    }

    #[test]
    fn a_full_name_joins_what_there_is() {
        assert_eq!(
            user(Some("Ada"), Some("Lovelace")).full_name().as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            user(None, Some("Lovelace")).full_name().as_deref(),
            Some("Lovelace")
        );
        assert_eq!(user(None, None).full_name(), None);
    }
}
