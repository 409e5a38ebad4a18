//! Who may do what on the admin API: an admin key's role, and the minimum
//! role of every operation, decided here once. The API checks it centrally
//! before any handler runs; the OpenAPI document and the console read the
//! same table.
//!
//! The role comes from the caller's credential (today an API key; later a
//! person's claims), never from the request.

use serde::{Deserialize, Serialize};

/// An admin key's role. Ordered: each role may do everything the ones below
/// it may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only: rules, sync status, users and explain, failures, the
    /// activity history and its export, and the other settings' pages.
    Viewer,
    /// What a viewer may, and Retry sync.
    Operator,
    /// Everything. A key stored before roles existed reads as an admin key.
    #[default]
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }

    /// True when this role may call an operation that needs `needed`.
    pub fn may(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key may not call an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The message is shown to the caller as it is.
    #[error("this needs the {needed} role; your key is {} {have} key", article(*.have))]
    Forbidden { needed: Role, have: Role },
    /// An operation the table does not name: refused, never guessed.
    #[error("this operation is not open to any key")]
    Unlisted,
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Operator => "an",
        Role::Viewer => "a",
    }
}

/// The minimum role of every admin API operation, by operation id.
/// Reads (and previews, which change nothing) are open to viewers; Retry
/// sync to operators; every other change, and the organization's keys, to
/// admins.
pub const REQUIRED_ROLES: &[(&str, Role)] = &[
    // who am I
    ("getMe", Role::Viewer),
    ("listKeys", Role::Admin),
    // single sign-on (read-only: ops set it)
    ("getSso", Role::Viewer),
    // rules
    ("listRules", Role::Viewer),
    ("getRule", Role::Viewer),
    ("previewRuleChange", Role::Viewer),
    ("createRule", Role::Admin),
    ("reorderRules", Role::Admin),
    ("replaceRule", Role::Admin),
    ("patchRule", Role::Admin),
    ("deleteRule", Role::Admin),
    ("moveRule", Role::Admin),
    // sync
    ("getSync", Role::Viewer),
    ("putSync", Role::Admin),
    ("getDriftCheck", Role::Viewer),
    ("putDriftCheck", Role::Admin),
    ("listFailures", Role::Viewer),
    ("failureDetails", Role::Viewer),
    ("retrySync", Role::Operator),
    // settings
    ("getCatalog", Role::Viewer),
    ("putCatalog", Role::Admin),
    ("getCustomAttributes", Role::Viewer),
    ("putCustomAttributes", Role::Admin),
    // activity
    ("listActivity", Role::Viewer),
    ("exportActivity", Role::Viewer),
    ("getActivitySettings", Role::Viewer),
    ("putActivitySettings", Role::Admin),
    // directory
    ("listUsers", Role::Viewer),
    ("getUser", Role::Viewer),
    ("explainUser", Role::Viewer),
    ("listGroups", Role::Viewer),
    ("getGroup", Role::Viewer),
    ("listGroupMembers", Role::Viewer),
    // welcome emails
    ("listTemplates", Role::Viewer),
    ("getTemplate", Role::Viewer),
    ("previewTemplate", Role::Viewer),
    ("createTemplate", Role::Admin),
    ("replaceTemplate", Role::Admin),
    ("deleteTemplate", Role::Admin),
    // domains
    ("listDomains", Role::Viewer),
    ("addDomain", Role::Admin),
    ("verifyDomain", Role::Admin),
    ("removeDomain", Role::Admin),
];

/// The minimum role of an operation; `None` for one the table does not name.
pub fn required_role(operation: &str) -> Option<Role> {
    REQUIRED_ROLES
        .iter()
        .find(|(id, _)| *id == operation)
        .map(|(_, role)| *role)
}

/// Whether a key of role `have` may call `operation`.
pub fn check(operation: &str, have: Role) -> Result<(), AccessError> {
    let needed = required_role(operation).ok_or(AccessError::Unlisted)?;
    if have.may(needed) {
        Ok(())
    } else {
        Err(AccessError::Forbidden { needed, have })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Admin.may(Role::Operator) && Role::Operator.may(Role::Viewer));
        assert!(!Role::Viewer.may(Role::Operator) && !Role::Operator.may(Role::Admin));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            Role::default(),
            Role::Admin,
            "a key without a role is an admin key"
        );
    }

    #[test]
    fn a_viewer_reads_but_changes_nothing() {
        for op in [
            "listRules",
            "getSync",
            "listUsers",
            "explainUser",
            "listFailures",
        ] {
            assert_eq!(check(op, Role::Viewer), Ok(()), "{op}");
        }
        for op in ["listActivity", "exportActivity", "getMe", "getSso"] {
            assert_eq!(check(op, Role::Viewer), Ok(()), "{op}");
        }
        for op in [
            "createRule",
            "putSync",
            "putCatalog",
            "createTemplate",
            "retrySync",
        ] {
            assert!(check(op, Role::Viewer).is_err(), "{op}");
        }
    }

    #[test]
    fn an_operator_retries_but_edits_no_rule_template_catalogue_or_switch() {
        assert_eq!(check("retrySync", Role::Operator), Ok(()));
        for op in [
            "createRule",
            "replaceRule",
            "deleteRule",
            "reorderRules",
            "replaceTemplate",
            "putCatalog",
            "putSync",
            "listKeys",
        ] {
            assert_eq!(
                check(op, Role::Operator),
                Err(AccessError::Forbidden {
                    needed: Role::Admin,
                    have: Role::Operator
                }),
                "{op}"
            );
        }
    }

    #[test]
    fn an_admin_may_do_everything_listed_and_nothing_unlisted() {
        for (op, _) in REQUIRED_ROLES {
            assert_eq!(check(op, Role::Admin), Ok(()), "{op}");
        }
        assert_eq!(check("dropTables", Role::Admin), Err(AccessError::Unlisted));
    }

    #[test]
    fn the_refusal_names_the_role_needed_and_the_key_s() {
        let e = AccessError::Forbidden {
            needed: Role::Operator,
            have: Role::Viewer,
        };
        assert_eq!(
            e.to_string(),
            "this needs the operator role; your key is a viewer key"
        );
        let e = AccessError::Forbidden {
            needed: Role::Admin,
            have: Role::Operator,
        };
        assert_eq!(
            e.to_string(),
            "this needs the admin role; your key is an operator key"
        );
    }

    #[test]
    fn every_operation_is_named_once() {
        let mut ids: Vec<_> = REQUIRED_ROLES.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
