//! Drift: how a product account, as the product API holds it, differs from
//! the account the desired state asks for. The scheduled drift check
//! corrects an account only when this finds a difference, so an account in
//! step with its desired state is never written.

use super::ProductAccount;

/// An account as the product API answers it: the state, and who changed it
/// last when the product says so (a product admin's name; `None` when the
/// integration wrote it last, or the product does not tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAccount {
    pub account: ProductAccount,
    pub updated_by: Option<String>,
}

/// The fields (the product API's names) in which `actual` differs from
/// `desired`, in the contract's order; empty when they match.
pub fn drifted_fields(desired: &ProductAccount, actual: &ProductAccount) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut differ = |name: &'static str, same: bool| {
        if !same {
            fields.push(name);
        }
    };
    differ("email", desired.email == actual.email);
    differ("givenName", desired.given_name == actual.given_name);
    differ("familyName", desired.family_name == actual.family_name);
    differ("locale", desired.locale == actual.locale);
    differ("status", desired.status == actual.status);
    differ("products", desired.products == actual.products);
    differ("role", desired.role == actual.role);
    differ("privileges", desired.privileges == actual.privileges);
    differ(
        "managedGroups",
        desired.managed_groups == actual.managed_groups,
    );
    differ("userGroup", desired.user_group == actual.user_group);
    differ(
        "deviceGroups",
        desired.device_groups == actual.device_groups,
    );
    differ(
        "settingsTemplate",
        desired.settings_template == actual.settings_template,
    );
    fields
}

/// What the drift check does with one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftVerdict {
    /// The account matches: nothing is written.
    InSync,
    /// The account differs in these fields (the product API's names) and is
    /// written again from the desired state.
    Correct { fields: Vec<&'static str> },
    /// The product holds no account where one is expected: it is written
    /// again (an active one is created again).
    Missing,
    /// The product holds no account and the desired state is a suspended
    /// one: there is nothing to suspend.
    Absent,
}

/// Compares the account the product API answered (`None`: it holds none)
/// with the desired one.
pub fn drift_verdict(desired: &ProductAccount, actual: Option<&ProductAccount>) -> DriftVerdict {
    match actual {
        Some(actual) => {
            let fields = drifted_fields(desired, actual);
            if fields.is_empty() {
                DriftVerdict::InSync
            } else {
                DriftVerdict::Correct { fields }
            }
        }
        None if desired.status == super::AccountStatus::Suspended => DriftVerdict::Absent,
        None => DriftVerdict::Missing,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::state::AccountStatus;

    fn account() -> ProductAccount {
        ProductAccount {
            email: "ada@example.com".into(),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            locale: Some("en".into()),
            status: AccountStatus::Active,
            products: BTreeSet::from(["G2M".to_owned()]),
            role: "none".into(),
            privileges: BTreeSet::new(),
            managed_groups: BTreeSet::new(),
            user_group: Some("Sales".into()),
            device_groups: BTreeSet::new(),
            settings_template: None,
        }
    }

    #[test]
    fn a_matching_account_is_in_sync() {
        assert!(drifted_fields(&account(), &account()).is_empty());
        assert_eq!(
            drift_verdict(&account(), Some(&account())),
            DriftVerdict::InSync
        );
    }

    #[test]
    fn every_differing_field_is_named_in_the_contract_order() {
        let mut edited = account();
        edited.role = "full_admin".into();
        edited.products.insert("G2W".into());
        edited.user_group = None;
        edited.locale = Some("fr".into());
        assert_eq!(
            drifted_fields(&account(), &edited),
            ["locale", "products", "role", "userGroup"]
        );
        let mut all = ProductAccount {
            email: "x@example.com".into(),
            given_name: None,
            family_name: None,
            locale: None,
            status: AccountStatus::Suspended,
            products: BTreeSet::new(),
            role: "manager".into(),
            privileges: BTreeSet::from(["p".to_owned()]),
            managed_groups: BTreeSet::from(["g".to_owned()]),
            user_group: None,
            device_groups: BTreeSet::from(["d".to_owned()]),
            settings_template: Some("s".into()),
        };
        assert_eq!(drifted_fields(&account(), &all).len(), 12);
        all = account();
        all.status = AccountStatus::Suspended;
        assert_eq!(
            drift_verdict(&account(), Some(&all)),
            DriftVerdict::Correct {
                fields: vec!["status"]
            }
        );
    }

    #[test]
    fn a_missing_account_is_written_again_unless_it_should_be_suspended() {
        assert_eq!(drift_verdict(&account(), None), DriftVerdict::Missing);
        let mut suspended = account();
        suspended.status = AccountStatus::Suspended;
        assert_eq!(drift_verdict(&suspended, None), DriftVerdict::Absent);
    }

    #[test]
    fn a_reactivated_account_of_a_user_who_left_is_corrected_to_suspended() {
        let mut desired = account();
        desired.status = AccountStatus::Suspended;
        desired.products.clear();
        let mut reactivated = desired.clone();
        reactivated.status = AccountStatus::Active;
        assert_eq!(
            drift_verdict(&desired, Some(&reactivated)),
            DriftVerdict::Correct {
                fields: vec!["status"]
            }
        );
    }
}
