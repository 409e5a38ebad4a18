//! Previewing a rule change: the proposed rules, which groups' members it
//! can affect, and how each affected user's account would change. Pure: the
//! admin API reads the users and calls these functions; nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{AssignmentStatus, EffectiveAssignment, Priority, Rule, SuspendReason};
use crate::DomainError;
use crate::ids::{GroupId, RuleId};

/// A proposed change of the rules or the sync switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleChange {
    /// A new rule at its priority (the rules below it move down one).
    Create(Rule),
    /// A rule replaced; a changed priority moves it.
    Update(Rule),
    Delete(RuleId),
    /// Every rule id, highest priority first.
    Reorder(Vec<RuleId>),
    /// Sync turned on: every directory user is reconciled.
    SyncOn,
}

fn renumber(mut rules: Vec<Rule>) -> Result<Vec<Rule>, DomainError> {
    for (i, r) in rules.iter_mut().enumerate() {
        let p = u32::try_from(i + 1).map_err(|_| DomainError::new("priority", "too many rules"))?;
        r.priority = Priority::new(p)?;
    }
    Ok(rules)
}

/// Moves the rule at `from` to priority `to` (clamped to 1..=n).
fn place(mut rules: Vec<Rule>, from: usize, to: Priority) -> Result<Vec<Rule>, DomainError> {
    let rule = rules.remove(from);
    let at = usize::try_from(to.get().saturating_sub(1))
        .map_err(|_| DomainError::new("priority", "out of range"))?;
    rules.insert(at.min(rules.len()), rule);
    renumber(rules)
}

/// The rules after `change`, priorities dense 1..n. `current` is in
/// priority order. Errors name the field at fault.
pub fn apply_change(current: &[Rule], change: &RuleChange) -> Result<Vec<Rule>, DomainError> {
    let mut rules: Vec<Rule> = current.to_vec();
    match change {
        RuleChange::SyncOn => Ok(rules),
        RuleChange::Create(rule) => {
            if rules.iter().any(|r| r.id == rule.id) {
                return Err(DomainError::new("id", "a rule with this id exists"));
            }
            rules.push(rule.clone());
            let from = rules.len() - 1;
            place(rules, from, rule.priority)
        }
        RuleChange::Update(rule) => {
            let Some(from) = rules.iter().position(|r| r.id == rule.id) else {
                return Err(DomainError::new("id", "no such rule"));
            };
            rules[from] = rule.clone();
            place(rules, from, rule.priority)
        }
        RuleChange::Delete(id) => {
            let before = rules.len();
            rules.retain(|r| &r.id != id);
            if rules.len() == before {
                return Err(DomainError::new("id", "no such rule"));
            }
            renumber(rules)
        }
        RuleChange::Reorder(order) => {
            let ids: BTreeSet<&RuleId> = order.iter().collect();
            let have: BTreeSet<&RuleId> = rules.iter().map(|r| &r.id).collect();
            if ids.len() != order.len() || ids != have {
                return Err(DomainError::new(
                    "order",
                    "must name every rule exactly once",
                ));
            }
            let mut by_id: BTreeMap<RuleId, Rule> =
                rules.into_iter().map(|r| (r.id.clone(), r)).collect();
            let reordered = order.iter().filter_map(|id| by_id.remove(id)).collect();
            renumber(reordered)
        }
    }
}

/// The groups whose members can be affected by going from `before` to
/// `after` (both in priority order): groups of added, removed or edited
/// rules, and of rules whose order relative to the others changed. `None`:
/// every user (sync turned on).
pub fn affected_groups(
    before: &[Rule],
    after: &[Rule],
    change: &RuleChange,
) -> Option<BTreeSet<GroupId>> {
    if matches!(change, RuleChange::SyncOn) {
        return None;
    }
    let mut groups = BTreeSet::new();
    let old: BTreeMap<&RuleId, &Rule> = before.iter().map(|r| (&r.id, r)).collect();
    let new: BTreeMap<&RuleId, &Rule> = after.iter().map(|r| (&r.id, r)).collect();
    for (id, r) in &old {
        match new.get(id) {
            None => {
                groups.insert(r.group_id.clone());
            }
            Some(n) if !r.same_settings(n) => {
                groups.insert(r.group_id.clone());
                groups.insert(n.group_id.clone());
            }
            Some(_) => {}
        }
    }
    for (id, r) in &new {
        if !old.contains_key(id) {
            groups.insert(r.group_id.clone());
        }
    }
    let old_ids: Vec<&RuleId> = before
        .iter()
        .map(|r| &r.id)
        .filter(|id| new.contains_key(id))
        .collect();
    let new_ids: Vec<&RuleId> = after
        .iter()
        .map(|r| &r.id)
        .filter(|id| old.contains_key(id))
        .collect();
    groups.extend(
        moved(&old_ids, &new_ids)
            .into_iter()
            .filter_map(|id| new.get(id).map(|r| r.group_id.clone())),
    );
    Some(groups)
}

/// The ids between the first and the last position where two orders of the
/// same ids differ: every rule whose relative order may have changed.
pub fn moved<'a>(old: &[&'a RuleId], new: &[&'a RuleId]) -> Vec<&'a RuleId> {
    let first = old.iter().zip(new).position(|(a, b)| a != b);
    let last = old.iter().zip(new).rposition(|(a, b)| a != b);
    match (first, last) {
        (Some(f), Some(l)) => new[f..=l].to_vec(),
        _ => Vec::new(),
    }
}

/// Whether the sync would newly suspend a user going from `before` (`None`:
/// no account yet) to `after`: only suspensions because no rule matches any
/// more count; the directory's own deactivations are expected.
pub fn newly_suspended(before: Option<&EffectiveAssignment>, after: &EffectiveAssignment) -> bool {
    let by_rules = after.status
        == AssignmentStatus::Suspended {
            reason: SuspendReason::NoMatchingRule,
        };
    by_rules && before.is_none_or(EffectiveAssignment::is_active)
}

/// How one user's account would change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountChange {
    pub new_account: bool,
    pub suspended: bool,
    pub unsuspended: bool,
    pub products_added: BTreeSet<String>,
    pub products_removed: BTreeSet<String>,
    /// (before, after) role names, when the role changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<(String, String)>,
    /// Any other field of the account (user group, device groups, settings
    /// template, privileges).
    pub other_fields: Vec<&'static str>,
}

impl AccountChange {
    pub fn is_change(&self) -> bool {
        *self != AccountChange::default()
    }
}

/// Compares two assignments as the product account sees them.
pub fn account_change(
    before: Option<&EffectiveAssignment>,
    after: &EffectiveAssignment,
) -> AccountChange {
    let Some(before) = before else {
        return AccountChange {
            new_account: true,
            suspended: !after.is_active(),
            products_added: after.products.clone(),
            role: (after.admin_role.name() != "none")
                .then(|| ("none".to_owned(), after.admin_role.name().to_owned())),
            ..AccountChange::default()
        };
    };
    let mut other_fields = Vec::new();
    if before.user_group != after.user_group {
        other_fields.push("userGroup");
    }
    if before.device_groups != after.device_groups {
        other_fields.push("deviceGroups");
    }
    if before.settings_template != after.settings_template {
        other_fields.push("settingsTemplate");
    }
    let role = if before.admin_role.name() != after.admin_role.name() {
        Some((
            before.admin_role.name().to_owned(),
            after.admin_role.name().to_owned(),
        ))
    } else {
        if before.admin_role != after.admin_role {
            other_fields.push("privileges");
        }
        None
    };
    AccountChange {
        new_account: false,
        suspended: before.is_active() && !after.is_active(),
        unsuspended: !before.is_active() && after.is_active(),
        products_added: after
            .products
            .difference(&before.products)
            .cloned()
            .collect(),
        products_removed: before
            .products
            .difference(&after.products)
            .cloned()
            .collect(),
        role,
        other_fields,
    }
}

/// Totals over many users' changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewTotals {
    /// Users evaluated.
    pub affected_users: u64,
    /// Users whose account would change.
    pub changed_users: u64,
    pub new_accounts: u64,
    pub suspended: u64,
    pub unsuspended: u64,
    pub role_changed: u64,
    /// Product → users gaining it.
    pub products_added: BTreeMap<String, u64>,
    /// Product → users losing it.
    pub products_removed: BTreeMap<String, u64>,
    /// Users the guardrail counts (see [`newly_suspended`]).
    pub newly_suspended_by_rules: u64,
}

impl PreviewTotals {
    pub fn add(&mut self, c: &AccountChange, newly_suspended: bool) {
        self.affected_users += 1;
        if !c.is_change() {
            return;
        }
        self.changed_users += 1;
        self.new_accounts += u64::from(c.new_account);
        self.suspended += u64::from(c.suspended);
        self.unsuspended += u64::from(c.unsuspended);
        self.role_changed += u64::from(c.role.is_some());
        self.newly_suspended_by_rules += u64::from(newly_suspended);
        for p in &c.products_added {
            *self.products_added.entry(p.clone()).or_default() += 1;
        }
        for p in &c.products_removed {
            *self.products_removed.entry(p.clone()).or_default() += 1;
        }
    }

    /// Seats each product would need beyond what it uses now (gained minus
    /// lost; never negative).
    pub fn additional_seats(&self) -> BTreeMap<String, u64> {
        let products: BTreeSet<&String> = self
            .products_added
            .keys()
            .chain(self.products_removed.keys())
            .collect();
        products
            .into_iter()
            .map(|p| {
                let gained = self.products_added.get(p).copied().unwrap_or(0);
                let lost = self.products_removed.get(p).copied().unwrap_or(0);
                (p.clone(), gained.saturating_sub(lost))
            })
            .collect()
    }
}

/// The mass-suspension guardrail: `true` when suspending `suspended` of
/// `directory_users` users exceeds `threshold_percent`.
pub fn exceeds_guardrail(suspended: u64, directory_users: u64, threshold_percent: u8) -> bool {
    // suspended / users > threshold / 100, in integers
    suspended > 0 && suspended * 100 > directory_users * u64::from(threshold_percent)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::directory::DirectoryStatus;
    use crate::memory::product_rule;
    use crate::rules::{AdminRole, effective_assignment};

    fn gid(s: &str) -> GroupId {
        GroupId::parse(s).unwrap()
    }

    fn rid(s: &str) -> RuleId {
        RuleId::parse(s).unwrap()
    }

    fn rule(id: &str, group: &str, priority: u32, products: &[&str]) -> Rule {
        product_rule(
            rid(id),
            gid(group),
            Priority::new(priority).unwrap(),
            products,
        )
    }

    fn ids(rules: &[Rule]) -> Vec<(&str, u32)> {
        rules
            .iter()
            .map(|r| (r.id.as_str(), r.priority.get()))
            .collect()
    }

    fn three() -> Vec<Rule> {
        vec![
            rule("a", "ga", 1, &["P"]),
            rule("b", "gb", 2, &["Q"]),
            rule("c", "gc", 3, &["R"]),
        ]
    }

    #[test]
    fn create_inserts_at_its_priority_and_renumbers() {
        let after = apply_change(&three(), &RuleChange::Create(rule("n", "gn", 2, &[]))).unwrap();
        assert_eq!(ids(&after), [("a", 1), ("n", 2), ("b", 3), ("c", 4)]);
        let last = apply_change(&three(), &RuleChange::Create(rule("n", "gn", 4, &[]))).unwrap();
        assert_eq!(ids(&last), [("a", 1), ("b", 2), ("c", 3), ("n", 4)]);
    }

    #[test]
    fn update_moves_delete_closes_the_gap_reorder_permutes() {
        let moved =
            apply_change(&three(), &RuleChange::Update(rule("c", "gc", 1, &["R"]))).unwrap();
        assert_eq!(ids(&moved), [("c", 1), ("a", 2), ("b", 3)]);
        let deleted = apply_change(&three(), &RuleChange::Delete(rid("a"))).unwrap();
        assert_eq!(ids(&deleted), [("b", 1), ("c", 2)]);
        let reordered = apply_change(
            &three(),
            &RuleChange::Reorder(vec![rid("b"), rid("c"), rid("a")]),
        )
        .unwrap();
        assert_eq!(ids(&reordered), [("b", 1), ("c", 2), ("a", 3)]);
    }

    #[test]
    fn invalid_changes_name_the_field() {
        let e = apply_change(&three(), &RuleChange::Delete(rid("zz"))).unwrap_err();
        assert_eq!(e.field, "id");
        let e = apply_change(&three(), &RuleChange::Reorder(vec![rid("a"), rid("b")])).unwrap_err();
        assert_eq!(e.field, "order");
        let e = apply_change(
            &three(),
            &RuleChange::Reorder(vec![rid("a"), rid("a"), rid("b")]),
        )
        .unwrap_err();
        assert_eq!(e.field, "order");
    }

    #[test]
    fn affected_groups_are_those_of_changed_or_moved_rules() {
        let before = three();
        let change = RuleChange::Update(rule("b", "gx", 2, &["Q"]));
        let after = apply_change(&before, &change).unwrap();
        assert_eq!(
            affected_groups(&before, &after, &change),
            Some([gid("gb"), gid("gx")].into())
        );
        // swapping b and c: both groups; a keeps its place and is not read
        let change = RuleChange::Reorder(vec![rid("a"), rid("c"), rid("b")]);
        let after = apply_change(&before, &change).unwrap();
        assert_eq!(
            affected_groups(&before, &after, &change),
            Some([gid("gb"), gid("gc")].into())
        );
        // deleting a renumbers b and c, but their relative order is kept
        let change = RuleChange::Delete(rid("a"));
        let after = apply_change(&before, &change).unwrap();
        assert_eq!(
            affected_groups(&before, &after, &change),
            Some([gid("ga")].into())
        );
        assert_eq!(affected_groups(&before, &before, &RuleChange::SyncOn), None);
    }

    #[test]
    fn reordering_changes_the_role_as_the_preview_shows() {
        // rule a (none) above rule b (full admin), both on the user's group
        let mut a = rule("a", "g", 1, &["P"]);
        a.admin_role = Some(AdminRole::None);
        let mut b = rule("b", "g", 2, &["Q"]);
        b.admin_role = Some(AdminRole::FullAdmin);
        let before = vec![a, b];
        let change = RuleChange::Reorder(vec![rid("b"), rid("a")]);
        let after = apply_change(&before, &change).unwrap();
        let groups = [gid("g")].into();
        let x = effective_assignment(DirectoryStatus::Active, &groups, &before);
        let y = effective_assignment(DirectoryStatus::Active, &groups, &after);
        let c = account_change(Some(&x), &y);
        assert_eq!(c.role, Some(("none".into(), "full_admin".into())));
        assert!(c.products_added.is_empty() && c.products_removed.is_empty());
    }

    #[test]
    fn deleting_the_only_rule_suspends_and_the_guardrail_counts_it() {
        let before = vec![rule("a", "g", 1, &["P"])];
        let after = apply_change(&before, &RuleChange::Delete(rid("a"))).unwrap();
        let groups = [gid("g")].into();
        let x = effective_assignment(DirectoryStatus::Active, &groups, &before);
        let y = effective_assignment(DirectoryStatus::Active, &groups, &after);
        let c = account_change(Some(&x), &y);
        assert!(c.suspended);
        assert_eq!(c.products_removed, ["P".to_owned()].into());
        assert!(newly_suspended(Some(&x), &y));
        let mut totals = PreviewTotals::default();
        totals.add(&c, true);
        totals.add(&AccountChange::default(), false);
        assert_eq!(
            (
                totals.affected_users,
                totals.changed_users,
                totals.suspended
            ),
            (2, 1, 1)
        );
        assert_eq!(totals.newly_suspended_by_rules, 1);
    }

    #[test]
    fn an_inactive_user_is_not_a_guardrail_suspension() {
        let rules = vec![rule("a", "g", 1, &["P"])];
        let groups = [gid("g")].into();
        let active = effective_assignment(DirectoryStatus::Active, &groups, &rules);
        let inactive = effective_assignment(DirectoryStatus::Inactive, &groups, &rules);
        assert!(!newly_suspended(Some(&active), &inactive));
        // no assignment before and no rule now counts as a suspension here;
        // the preview and the guardrail leave out users with no account
        let none = effective_assignment(DirectoryStatus::Active, &BTreeSet::new(), &rules);
        assert!(newly_suspended(None, &none));
    }

    #[test]
    fn seats_are_net_of_users_losing_the_product() {
        let mut t = PreviewTotals::default();
        t.products_added.insert("P".into(), 5);
        t.products_removed.insert("P".into(), 2);
        t.products_removed.insert("Q".into(), 3);
        assert_eq!(
            t.additional_seats(),
            [("P".to_owned(), 3), ("Q".to_owned(), 0)].into()
        );
    }

    #[test]
    fn guardrail_threshold_is_strictly_more_than_the_share() {
        assert!(!exceeds_guardrail(10, 100, 10));
        assert!(exceeds_guardrail(11, 100, 10));
        assert!(!exceeds_guardrail(0, 0, 10));
        assert!(exceeds_guardrail(1, 1, 99));
        assert!(!exceeds_guardrail(1, 1, 100));
    }

    #[test]
    fn moved_spans_the_first_to_the_last_difference() {
        let (a, b, c, d) = (rid("a"), rid("b"), rid("c"), rid("d"));
        assert_eq!(moved(&[&a, &b, &c, &d], &[&a, &c, &b, &d]), vec![&c, &b]);
        assert!(moved(&[&a, &b], &[&a, &b]).is_empty());
    }
}
