//! Rules: "members of directory group X get products P, admin role R, ...",
//! ordered by priority (1 is highest), and the effective assignment they give
//! a user.

pub mod assignment;
pub mod index;
pub mod input;
pub mod preview;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{GroupId, RuleId};

pub use assignment::{
    Assigned, AssignmentStatus, EffectiveAssignment, Provenance, SuspendReason,
    effective_assignment,
};
pub use index::RuleIndex;

/// A rule's priority: 1 is the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Priority(u32);

impl Priority {
    pub const MAX: u32 = 10_000;

    pub fn new(p: u32) -> Result<Self, DomainError> {
        if (1..=Self::MAX).contains(&p) {
            Ok(Self(p))
        } else {
            Err(DomainError::new("priority", "must be between 1 and 10000"))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl schemars::JsonSchema for Priority {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Priority".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "1 is the highest; rules' priorities are always 1..n",
            "type": "integer",
            "minimum": 1,
            "maximum": Self::MAX,
        })
    }
}

impl TryFrom<u32> for Priority {
    type Error = DomainError;
    fn try_from(p: u32) -> Result<Self, DomainError> {
        Self::new(p)
    }
}

impl From<Priority> for u32 {
    fn from(p: Priority) -> u32 {
        p.0
    }
}

/// The admin role a rule sets. `None` is a setting ("no admin rights"), not
/// the absence of one: a rule that leaves the role unset has
/// `Rule::admin_role == None` (the Rust `Option`).
// Fields are camelCase, as everywhere in stored and served JSON. Rules and
// desired states stored before `managedGroups` was renamed carry
// `managed_groups`, which is still read. The admin API reads requests into
// its own, stricter type, which takes only `managedGroups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AdminRole {
    None,
    FullAdmin,
    Manager {
        #[serde(default)]
        privileges: BTreeSet<String>,
        #[serde(default, rename = "managedGroups", alias = "managed_groups")]
        managed_groups: BTreeSet<String>,
    },
}

impl AdminRole {
    /// The role name the product API speaks.
    pub fn name(&self) -> &'static str {
        match self {
            AdminRole::None => "none",
            AdminRole::FullAdmin => "full_admin",
            AdminRole::Manager { .. } => "manager",
        }
    }
}

/// A rule as stored and evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: RuleId,
    pub group_id: GroupId,
    #[serde(default)]
    pub description: String,
    pub priority: Priority,
    #[serde(default)]
    pub products: BTreeSet<String>,
    /// `None`: this rule does not set an admin role.
    #[serde(default)]
    pub admin_role: Option<AdminRole>,
    #[serde(default)]
    pub user_group: Option<String>,
    #[serde(default)]
    pub device_groups: BTreeSet<String>,
    #[serde(default)]
    pub settings_template: Option<String>,
    #[serde(default)]
    pub email_template: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
}

impl Rule {
    /// Whether two rules give the same things to the same group, their
    /// priorities (which the rules' order decides) aside.
    pub fn same_settings(&self, other: &Rule) -> bool {
        Rule {
            priority: other.priority,
            ..self.clone()
        } == *other
    }

    pub fn grants_full_admin(&self) -> bool {
        matches!(self.admin_role, Some(AdminRole::FullAdmin))
    }
}

/// Sorts rules by priority, highest first; ties (which the admin API never
/// stores) are broken by id so that the order is total.
pub fn sort_by_priority(rules: &mut [&Rule]) {
    rules.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn manager() -> AdminRole {
        AdminRole::Manager {
            privileges: BTreeSet::from(["manage_users".to_owned()]),
            managed_groups: BTreeSet::from(["sales".to_owned()]),
        }
    }

    #[test]
    fn a_manager_role_is_written_camel_case() {
        let json = serde_json::to_value(manager()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "manager", "privileges": ["manage_users"], "managedGroups": ["sales"]})
        );
    }

    #[test]
    fn a_manager_role_stored_before_the_rename_still_reads() {
        for stored in [
            r#"{"type":"manager","privileges":["manage_users"],"managedGroups":["sales"]}"#,
            r#"{"type":"manager","privileges":["manage_users"],"managed_groups":["sales"]}"#,
        ] {
            let role: AdminRole = serde_json::from_str(stored).unwrap();
            assert_eq!(role, manager(), "{stored}");
        }
        // a whole rule, as RuleItem keeps it
        let rule: Rule = serde_json::from_str(
            r#"{"id":"r1","groupId":"g1","priority":1,"adminRole":{"type":"manager","privileges":["manage_users"],"managed_groups":["sales"]}}"#,
        )
        .unwrap();
        assert_eq!(rule.admin_role, Some(manager()));
    }
}
