//! The effective assignment of one user: a pure function of the user's
//! directory status, the user's groups and the rules.
//!
//! - only rules whose group contains the user match;
//! - single-valued fields (admin role, user group, settings template,
//!   welcome-email template, language) come from the highest-priority matching
//!   rule that sets them; an admin role of `none` is a setting;
//! - set-valued fields (products, device groups) are the union over all
//!   matching rules;
//! - an inactive or deleted user, or one that matches no rule, is suspended:
//!   no products, no admin role, account kept;
//! - every field records which rule supplied it.
//!
//! [`Assigned`] is the assignment as references into the rules (which rules
//! match, which one supplies each single-valued field); the stored and
//! explained shape, [`EffectiveAssignment`], is made from it only where it is
//! stored or shown. The evaluator finds a batch's users' matching rules
//! through a [`RuleIndex`](super::index::RuleIndex) built once per batch.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{AdminRole, Rule, sort_by_priority};
use crate::directory::DirectoryStatus;
use crate::ids::{GroupId, RuleId};

/// Why a user is suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuspendReason {
    Inactive,
    Deleted,
    NoMatchingRule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AssignmentStatus {
    Active,
    Suspended { reason: SuspendReason },
}

/// Which rule supplied each field ("explain").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// Every matching rule, highest priority first.
    pub matched: Vec<RuleId>,
    /// For each product, the matching rules that grant it.
    pub products: BTreeMap<String, Vec<RuleId>>,
    pub device_groups: BTreeMap<String, Vec<RuleId>>,
    pub admin_role: Option<RuleId>,
    pub user_group: Option<RuleId>,
    pub settings_template: Option<RuleId>,
    pub email_template: Option<RuleId>,
    pub language: Option<RuleId>,
}

/// What a user should have in the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveAssignment {
    #[serde(flatten)]
    pub status: AssignmentStatus,
    pub products: BTreeSet<String>,
    pub device_groups: BTreeSet<String>,
    pub admin_role: AdminRole,
    pub user_group: Option<String>,
    pub settings_template: Option<String>,
    pub email_template: Option<String>,
    pub language: Option<String>,
    pub provenance: Provenance,
}

impl EffectiveAssignment {
    fn suspended(reason: SuspendReason, matched: Vec<RuleId>) -> Self {
        Self {
            status: AssignmentStatus::Suspended { reason },
            products: BTreeSet::new(),
            device_groups: BTreeSet::new(),
            admin_role: AdminRole::None,
            user_group: None,
            settings_template: None,
            email_template: None,
            language: None,
            provenance: Provenance {
                matched,
                ..Provenance::default()
            },
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == AssignmentStatus::Active
    }
}

/// One user's assignment as references into the rules: the status, the
/// matching rules and the rule that supplies each single-valued field. The
/// products and device groups are the union over `matched`, taken by
/// [`Assigned::to_assignment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned<'r> {
    pub status: AssignmentStatus,
    /// Every matching rule, highest priority first.
    pub matched: Vec<&'r Rule>,
    /// The rule that supplies each single-valued field; all `None` for a
    /// suspended user.
    pub admin_role: Option<&'r Rule>,
    pub user_group: Option<&'r Rule>,
    pub settings_template: Option<&'r Rule>,
    pub email_template: Option<&'r Rule>,
    pub language: Option<&'r Rule>,
}

/// The first rule (in priority order) that sets a single-valued field.
fn first_set<'r, T>(matched: &[&'r Rule], field: impl Fn(&Rule) -> Option<&T>) -> Option<&'r Rule> {
    matched.iter().copied().find(|r| field(r).is_some())
}

impl<'r> Assigned<'r> {
    /// The assignment of a user whose matching rules are `matched`, highest
    /// priority first (as [`sort_by_priority`] orders them).
    pub fn new(status: DirectoryStatus, matched: Vec<&'r Rule>) -> Self {
        let reason = match status {
            DirectoryStatus::Deleted => Some(SuspendReason::Deleted),
            DirectoryStatus::Inactive => Some(SuspendReason::Inactive),
            DirectoryStatus::Active if matched.is_empty() => Some(SuspendReason::NoMatchingRule),
            DirectoryStatus::Active => None,
        };
        if let Some(reason) = reason {
            return Self {
                status: AssignmentStatus::Suspended { reason },
                matched,
                admin_role: None,
                user_group: None,
                settings_template: None,
                email_template: None,
                language: None,
            };
        }
        Self {
            status: AssignmentStatus::Active,
            admin_role: first_set(&matched, |r| r.admin_role.as_ref()),
            user_group: first_set(&matched, |r| r.user_group.as_ref()),
            settings_template: first_set(&matched, |r| r.settings_template.as_ref()),
            email_template: first_set(&matched, |r| r.email_template.as_ref()),
            language: first_set(&matched, |r| r.language.as_ref()),
            matched,
        }
    }

    /// The stored and explained shape: values and rule ids copied out of the
    /// rules, the set-valued fields unioned.
    pub fn to_assignment(&self) -> EffectiveAssignment {
        let matched: Vec<RuleId> = self.matched.iter().map(|r| r.id.clone()).collect();
        if let AssignmentStatus::Suspended { reason } = self.status {
            return EffectiveAssignment::suspended(reason, matched);
        }
        let (products, products_from) = union(&self.matched, |r| &r.products);
        let (device_groups, device_groups_from) = union(&self.matched, |r| &r.device_groups);
        let id = |rule: Option<&Rule>| rule.map(|r| r.id.clone());
        EffectiveAssignment {
            status: AssignmentStatus::Active,
            products,
            device_groups,
            admin_role: self
                .admin_role
                .and_then(|r| r.admin_role.clone())
                .unwrap_or(AdminRole::None),
            user_group: self.user_group.and_then(|r| r.user_group.clone()),
            settings_template: self
                .settings_template
                .and_then(|r| r.settings_template.clone()),
            email_template: self.email_template.and_then(|r| r.email_template.clone()),
            language: self.language.and_then(|r| r.language.clone()),
            provenance: Provenance {
                matched,
                products: products_from,
                device_groups: device_groups_from,
                admin_role: id(self.admin_role),
                user_group: id(self.user_group),
                settings_template: id(self.settings_template),
                email_template: id(self.email_template),
                language: id(self.language),
            },
        }
    }
}

impl Assigned<'_> {
    /// Whether `stored` is this assignment's stored shape: the same as
    /// `self.to_assignment() == *stored`, compared in place without copying
    /// anything out (the evaluator's test of an unchanged user).
    pub fn is(&self, stored: &EffectiveAssignment) -> bool {
        let p = &stored.provenance;
        if stored.status != self.status
            || p.matched.len() != self.matched.len()
            || !p
                .matched
                .iter()
                .zip(&self.matched)
                .all(|(id, r)| *id == r.id)
        {
            return false;
        }
        if !self.is_active() {
            // suspended: nothing but the status and the matching rules
            return stored.products.is_empty()
                && stored.device_groups.is_empty()
                && stored.admin_role == AdminRole::None
                && stored.user_group.is_none()
                && stored.settings_template.is_none()
                && stored.email_template.is_none()
                && stored.language.is_none()
                && p.products.is_empty()
                && p.device_groups.is_empty()
                && p.admin_role.is_none()
                && p.user_group.is_none()
                && p.settings_template.is_none()
                && p.email_template.is_none()
                && p.language.is_none();
        }
        fn single<'a, T: PartialEq + 'a>(
            rule: Option<&'a Rule>,
            field: impl Fn(&'a Rule) -> Option<&'a T>,
            value: Option<&T>,
            from: Option<&RuleId>,
        ) -> bool {
            rule.and_then(field) == value && rule.map(|r| &r.id) == from
        }
        let role = self.admin_role.and_then(|r| r.admin_role.as_ref());
        role.unwrap_or(&AdminRole::None) == &stored.admin_role
            && self.admin_role.map(|r| &r.id) == p.admin_role.as_ref()
            && single(
                self.user_group,
                |r| r.user_group.as_ref(),
                stored.user_group.as_ref(),
                p.user_group.as_ref(),
            )
            && single(
                self.settings_template,
                |r| r.settings_template.as_ref(),
                stored.settings_template.as_ref(),
                p.settings_template.as_ref(),
            )
            && single(
                self.email_template,
                |r| r.email_template.as_ref(),
                stored.email_template.as_ref(),
                p.email_template.as_ref(),
            )
            && single(
                self.language,
                |r| r.language.as_ref(),
                stored.language.as_ref(),
                p.language.as_ref(),
            )
            && union_is(
                &self.matched,
                |r| &r.products,
                &stored.products,
                &p.products,
            )
            && union_is(
                &self.matched,
                |r| &r.device_groups,
                &stored.device_groups,
                &p.device_groups,
            )
    }

    pub fn is_active(&self) -> bool {
        self.status == AssignmentStatus::Active
    }

    /// The rule language (its value and the rule that sets it), as
    /// [`crate::language::account_language`] reads it from the stored shape.
    pub fn rule_language(&self) -> Option<(&String, &RuleId)> {
        self.language
            .and_then(|r| r.language.as_ref().map(|l| (l, &r.id)))
    }
}

/// Whether `set` and `from` are what [`union`] makes of the matching rules'
/// field: every item some rule grants, each with the rules that grant it in
/// priority order, and nothing else.
fn union_is(
    matched: &[&Rule],
    field: impl Fn(&Rule) -> &BTreeSet<String>,
    set: &BTreeSet<String>,
    from: &BTreeMap<String, Vec<RuleId>>,
) -> bool {
    if set.len() != from.len() || !set.iter().eq(from.keys()) {
        return false;
    }
    // each item listed with exactly the rules that grant it, in order
    let mut listed_grants = 0;
    for (item, rules) in from {
        let mut listed = rules.iter();
        for rule in matched.iter().filter(|r| field(r).contains(item)) {
            if listed.next() != Some(&rule.id) {
                return false;
            }
        }
        if rules.is_empty() || listed.next().is_some() {
            return false;
        }
        listed_grants += rules.len();
    }
    // and no item granted that is not listed: the listed items' grants are
    // all the grants
    listed_grants == matched.iter().map(|r| field(r).len()).sum::<usize>()
}

/// Unions a set-valued field over the matching rules, remembering who gave what.
fn union(
    matched: &[&Rule],
    field: impl Fn(&Rule) -> &BTreeSet<String>,
) -> (BTreeSet<String>, BTreeMap<String, Vec<RuleId>>) {
    let mut from: BTreeMap<String, Vec<RuleId>> = BTreeMap::new();
    for (rank, rule) in matched.iter().enumerate() {
        for item in field(rule) {
            // the item is copied once, when first seen
            match from.get_mut(item) {
                Some(rules) => rules.push(rule.id.clone()),
                None => {
                    // room for every rule left: a list is allocated once
                    let mut rules = Vec::with_capacity(matched.len() - rank);
                    rules.push(rule.id.clone());
                    from.insert(item.clone(), rules);
                }
            }
        }
    }
    (from.keys().cloned().collect(), from)
}

/// Computes the effective assignment. `rules` may be in any order; only
/// their priorities matter. For many users under the same rules, build a
/// [`RuleIndex`](super::index::RuleIndex) once and ask it for each user.
pub fn effective_assignment(
    status: DirectoryStatus,
    groups: &BTreeSet<GroupId>,
    rules: &[Rule],
) -> EffectiveAssignment {
    // the matching rules only, then in priority order: a user matches a
    // handful of an organization's rules
    let mut matched: Vec<&Rule> = rules
        .iter()
        .filter(|r| groups.contains(&r.group_id))
        .collect();
    sort_by_priority(&mut matched);
    Assigned::new(status, matched).to_assignment()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
