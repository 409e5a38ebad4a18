//! The plan: a pure function from what the directory says (a full read,
//! page by page through a [`Planner`], or incremental [`Changes`]) and what
//! the SCIM endpoint holds to the fewest requests that make them agree.
//!
//! - Identity is the `externalId` (`objectGUID` / `entryUUID`): a renamed or
//!   moved user or group is the same resource.
//! - Users the endpoint holds with an `externalId` the directory no longer
//!   has are deactivated on full runs (never deleted); users disabled in the
//!   directory are deactivated; returning ones reactivated.
//! - Only changed attributes are sent; nothing changed, nothing sent.
//! - Users without an `externalId` were not made by a connector and are
//!   never touched.

mod compare;
mod full;

pub use compare::{full, incremental};
pub use full::Planner;

use std::collections::HashMap;

use serde::Serialize;

use crate::model::SourceUser;
use crate::scim::{HeldGroup, HeldUser};

/// What the endpoint holds, indexed.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// Users with an `externalId`, by it.
    pub users: HashMap<String, HeldUser>,
    /// SCIM id → `externalId`, for every user with one.
    pub ext_of: HashMap<String, String>,
    /// Groups with an `externalId`, by it.
    pub groups: HashMap<String, HeldGroup>,
}

impl Held {
    pub fn new(users: Vec<HeldUser>, groups: Vec<HeldGroup>) -> Self {
        let mut held = Self::default();
        for u in users {
            if let Some(x) = u.external_id.clone() {
                held.ext_of.insert(u.id.clone(), x.clone());
                held.users.insert(x, u);
            }
        }
        for g in groups {
            if let Some(x) = g.external_id.clone() {
                held.groups.insert(x, g);
            }
        }
        held
    }

    /// Users the connector keeps active now.
    pub fn active_users(&self) -> usize {
        self.users.values().filter(|u| u.active).count()
    }
}

/// A user attribute to set (`Some`) or remove (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "attribute", content = "value", rename_all = "camelCase")]
pub enum Change {
    UserName(String),
    Active(bool),
    GivenName(Option<String>),
    FamilyName(Option<String>),
    DisplayName(Option<String>),
    Emails(Vec<String>),
    PhoneNumbers(Vec<String>),
    EmployeeNumber(Option<String>),
    Department(Option<String>),
    CostCenter(Option<String>),
    Division(Option<String>),
    /// The manager, by `externalId` (resolved to a SCIM id when sent).
    Manager(Option<String>),
    Custom(String, Option<String>),
}

impl Change {
    /// The attribute's SCIM name, for the dry run and logs (never its value).
    pub fn attribute(&self) -> String {
        match self {
            Self::UserName(_) => "userName".into(),
            Self::Active(_) => "active".into(),
            Self::GivenName(_) => "name.givenName".into(),
            Self::FamilyName(_) => "name.familyName".into(),
            Self::DisplayName(_) => "displayName".into(),
            Self::Emails(_) => "emails".into(),
            Self::PhoneNumbers(_) => "phoneNumbers".into(),
            Self::EmployeeNumber(_) => "employeeNumber".into(),
            Self::Department(_) => "department".into(),
            Self::CostCenter(_) => "costCenter".into(),
            Self::Division(_) => "division".into(),
            Self::Manager(_) => "manager".into(),
            Self::Custom(name, _) => name.clone(),
        }
    }
}

/// Why a user is deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Why {
    /// Disabled in the directory.
    Disabled,
    /// Deleted, or no longer in scope (found by full runs only).
    LeftScope,
}

/// A user to create; its manager is set once the manager has a SCIM id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Create {
    pub user: SourceUser,
}

/// A user to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    pub id: String,
    pub external_id: String,
    pub changes: Vec<Change>,
}

/// A user to deactivate (`active: false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deactivate {
    pub id: String,
    pub external_id: String,
    pub why: Why,
}

/// A group to create, with its members by `externalId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupCreate {
    pub external_id: String,
    pub name: String,
    pub members: Vec<String>,
}

/// A held group to rename and whose members change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdate {
    pub id: String,
    pub external_id: String,
    pub rename: Option<String>,
    /// Members to add, by `externalId`.
    pub add: Vec<String>,
    /// Members to remove, by SCIM id.
    pub remove: Vec<String>,
}

/// Everything a run sends, in the order it sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub creates: Vec<Create>,
    /// Changed attributes of held users, reactivations and disabled users
    /// included.
    pub updates: Vec<Update>,
    pub deactivations: Vec<Deactivate>,
    pub group_creates: Vec<GroupCreate>,
    pub group_updates: Vec<GroupUpdate>,
    /// Group members the endpoint does not hold and this plan does not
    /// create (an incremental read that saw a group change but not the
    /// user): a full run is needed to bring them.
    pub unresolved_members: usize,
}

/// Counts of a plan, by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub deactivated: usize,
    pub reactivated: usize,
    pub groups_created: usize,
    pub groups_renamed: usize,
    pub members_added: usize,
    pub members_removed: usize,
}

impl Plan {
    /// Whether the plan sends nothing.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty()
            && self.updates.is_empty()
            && self.deactivations.is_empty()
            && self.group_creates.is_empty()
            && self.group_updates.is_empty()
    }

    /// Users the plan deactivates: those who left and those disabled.
    pub fn deactivation_count(&self) -> usize {
        self.deactivations.len()
            + self
                .updates
                .iter()
                .filter(|u| u.changes.contains(&Change::Active(false)))
                .count()
    }

    pub fn counts(&self) -> Counts {
        Counts {
            created: self.creates.len(),
            updated: self
                .updates
                .iter()
                .filter(|u| u.changes.iter().any(|c| !matches!(c, Change::Active(_))))
                .count(),
            deactivated: self.deactivation_count(),
            reactivated: self
                .updates
                .iter()
                .filter(|u| u.changes.contains(&Change::Active(true)))
                .count(),
            groups_created: self.group_creates.len(),
            groups_renamed: self
                .group_updates
                .iter()
                .filter(|g| g.rename.is_some())
                .count(),
            members_added: self
                .group_creates
                .iter()
                .map(|g| g.members.len())
                .sum::<usize>()
                + self
                    .group_updates
                    .iter()
                    .map(|g| g.add.len())
                    .sum::<usize>(),
            members_removed: self.group_updates.iter().map(|g| g.remove.len()).sum(),
        }
    }
}
