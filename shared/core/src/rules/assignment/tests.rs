use super::*;
use crate::memory::product_rule;
use crate::rules::Priority;
use crate::rules::RuleIndex;
use proptest::prelude::*;

fn gid(s: &str) -> GroupId {
    GroupId::parse(s).unwrap()
}

fn rule(id: &str, group: &str, priority: u32) -> Rule {
    product_rule(
        RuleId::parse(id).unwrap(),
        gid(group),
        Priority::new(priority).unwrap(),
        &[],
    )
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn groups(items: &[&str]) -> BTreeSet<GroupId> {
    items.iter().map(|s| gid(s)).collect()
}

#[test]
fn seeds_example_emea_analysts_get_both_products_and_full_admin() {
    let mut r1 = rule("r1", "emea-analysts", 1);
    r1.products = set(&["GoToTraining"]);
    r1.admin_role = Some(AdminRole::FullAdmin);
    let mut r2 = rule("r2", "emea-analysts", 2);
    r2.products = set(&["GoToMeeting"]);
    r2.admin_role = Some(AdminRole::None);

    let a = effective_assignment(
        DirectoryStatus::Active,
        &groups(&["emea-analysts"]),
        &[r2, r1],
    );
    assert_eq!(a.status, AssignmentStatus::Active);
    assert_eq!(a.products, set(&["GoToMeeting", "GoToTraining"]));
    assert_eq!(a.admin_role, AdminRole::FullAdmin);
    assert_eq!(a.provenance.admin_role, Some(RuleId::parse("r1").unwrap()));
    assert_eq!(
        a.provenance.products["GoToMeeting"],
        vec![RuleId::parse("r2").unwrap()]
    );
}

#[test]
fn admin_role_none_is_a_setting_that_beats_lower_full_admin() {
    let mut r1 = rule("r1", "g", 1);
    r1.admin_role = Some(AdminRole::None);
    r1.products = set(&["P"]);
    let mut r2 = rule("r2", "g", 2);
    r2.admin_role = Some(AdminRole::FullAdmin);
    let a = effective_assignment(DirectoryStatus::Active, &groups(&["g"]), &[r1, r2]);
    assert_eq!(a.admin_role, AdminRole::None);
    assert_eq!(a.provenance.admin_role, Some(RuleId::parse("r1").unwrap()));
}

#[test]
fn unset_single_valued_fields_fall_through_to_lower_priority() {
    let mut r1 = rule("r1", "a", 1);
    r1.products = set(&["P"]);
    let mut r2 = rule("r2", "b", 2);
    r2.admin_role = Some(AdminRole::Manager {
        privileges: set(&["reports"]),
        managed_groups: set(&["sales"]),
    });
    r2.user_group = Some("sales".into());
    r2.language = Some("de".into());
    let a = effective_assignment(DirectoryStatus::Active, &groups(&["a", "b"]), &[r1, r2]);
    assert!(matches!(a.admin_role, AdminRole::Manager { .. }));
    assert_eq!(a.user_group.as_deref(), Some("sales"));
    assert_eq!(a.language.as_deref(), Some("de"));
    assert_eq!(a.provenance.language, Some(RuleId::parse("r2").unwrap()));
}

#[test]
fn higher_priority_wins_each_single_valued_field() {
    let mut r1 = rule("r1", "a", 1);
    r1.settings_template = Some("t1".into());
    r1.email_template = Some("e1".into());
    let mut r2 = rule("r2", "b", 2);
    r2.settings_template = Some("t2".into());
    r2.email_template = Some("e2".into());
    r2.user_group = Some("u2".into());
    let a = effective_assignment(DirectoryStatus::Active, &groups(&["a", "b"]), &[r2, r1]);
    assert_eq!(a.settings_template.as_deref(), Some("t1"));
    assert_eq!(a.email_template.as_deref(), Some("e1"));
    assert_eq!(a.user_group.as_deref(), Some("u2"));
}

#[test]
fn sets_are_unioned_over_matching_rules_only() {
    let mut r1 = rule("r1", "a", 1);
    r1.products = set(&["P1"]);
    r1.device_groups = set(&["D1"]);
    let mut r2 = rule("r2", "b", 2);
    r2.products = set(&["P2", "P1"]);
    r2.device_groups = set(&["D2"]);
    let mut r3 = rule("r3", "c", 3);
    r3.products = set(&["P3"]);
    let a = effective_assignment(DirectoryStatus::Active, &groups(&["a", "b"]), &[r1, r2, r3]);
    assert_eq!(a.products, set(&["P1", "P2"]));
    assert_eq!(a.device_groups, set(&["D1", "D2"]));
    assert_eq!(a.provenance.products["P1"].len(), 2);
}

#[test]
fn suspended_when_inactive_deleted_or_unmatched() {
    let mut r1 = rule("r1", "a", 1);
    r1.products = set(&["P"]);
    r1.admin_role = Some(AdminRole::FullAdmin);
    let rules = [r1];
    for (status, g, reason) in [
        (
            DirectoryStatus::Inactive,
            groups(&["a"]),
            SuspendReason::Inactive,
        ),
        (
            DirectoryStatus::Deleted,
            groups(&["a"]),
            SuspendReason::Deleted,
        ),
        (
            DirectoryStatus::Active,
            groups(&["z"]),
            SuspendReason::NoMatchingRule,
        ),
        (
            DirectoryStatus::Active,
            groups(&[]),
            SuspendReason::NoMatchingRule,
        ),
    ] {
        let a = effective_assignment(status, &g, &rules);
        assert_eq!(a.status, AssignmentStatus::Suspended { reason });
        assert!(a.products.is_empty());
        assert_eq!(a.admin_role, AdminRole::None);
    }
}

#[test]
fn a_matching_rule_with_nothing_set_keeps_the_user_active() {
    let r1 = rule("r1", "a", 1);
    let a = effective_assignment(DirectoryStatus::Active, &groups(&["a"]), &[r1]);
    assert!(a.is_active());
    assert!(a.products.is_empty());
    assert_eq!(a.admin_role, AdminRole::None);
    assert_eq!(a.provenance.admin_role, None);
}

fn arb_rule(idx: usize) -> impl Strategy<Value = Rule> {
    let names = prop::sample::select(vec!["g0", "g1", "g2", "g3"]);
    let prod =
        prop::collection::btree_set(prop::sample::select(vec!["P1", "P2", "P3", "P4"]), 0..3);
    let role = prop::option::of(prop::sample::select(vec![
        AdminRole::None,
        AdminRole::FullAdmin,
        AdminRole::Manager {
            privileges: BTreeSet::new(),
            managed_groups: BTreeSet::new(),
        },
    ]));
    let opt = prop::option::of(prop::sample::select(vec!["x", "y"]));
    let devices = prop::collection::btree_set(prop::sample::select(vec!["D1", "D2", "D3"]), 0..3);
    (
        names,
        prod,
        role,
        opt.clone(),
        opt.clone(),
        devices,
        opt.clone(),
        opt,
    )
        .prop_map(move |(g, p, role, ug, lang, dev, settings, email)| {
            let mut r = rule(&format!("r{idx}"), g, 1);
            r.products = p.into_iter().map(str::to_owned).collect();
            r.admin_role = role;
            r.user_group = ug.map(str::to_owned);
            r.language = lang.map(str::to_owned);
            r.device_groups = dev.into_iter().map(str::to_owned).collect();
            r.settings_template = settings.map(str::to_owned);
            r.email_template = email.map(str::to_owned);
            r
        })
}

/// Up to 8 rules with distinct priorities 1..=n.
fn arb_rules() -> impl Strategy<Value = Vec<Rule>> {
    (0usize..8)
        .prop_flat_map(|n| (0..n).map(arb_rule).collect::<Vec<_>>())
        .prop_flat_map(|rules| {
            let n = rules.len();
            (
                Just(rules),
                Just((1..=n as u32).collect::<Vec<u32>>()).prop_shuffle(),
            )
        })
        .prop_map(|(mut rules, prios)| {
            for (r, p) in rules.iter_mut().zip(prios) {
                r.priority = Priority::new(p).unwrap();
            }
            rules
        })
}

fn arb_groups() -> impl Strategy<Value = BTreeSet<GroupId>> {
    prop::collection::btree_set(prop::sample::select(vec!["g0", "g1", "g2", "g3"]), 0..4)
        .prop_map(|s| s.into_iter().map(gid).collect())
}

proptest! {
    #[test]
    fn result_depends_on_priorities_not_listing_order(
        rules in arb_rules(),
        g in arb_groups(),
        shuffled in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let mut other = rules.clone();
        // a deterministic permutation derived from the seed
        let len = other.len();
        if len > 1 {
            other.rotate_left((shuffled as usize) % len);
            other.reverse();
        }
        prop_assert_eq!(
            effective_assignment(DirectoryStatus::Active, &g, &rules),
            effective_assignment(DirectoryStatus::Active, &g, &other)
        );
    }

    #[test]
    fn adding_a_non_matching_rule_changes_nothing(rules in arb_rules(), g in arb_groups()) {
        let before = effective_assignment(DirectoryStatus::Active, &g, &rules);
        let mut more = rules.clone();
        let mut extra = rule("extra", "not-a-member-group", 1);
        extra.products = set(&["PX"]);
        extra.admin_role = Some(AdminRole::FullAdmin);
        // the new rule takes the top priority; everything else moves down
        for r in &mut more {
            r.priority = Priority::new(r.priority.get() + 1).unwrap();
        }
        more.push(extra);
        prop_assert_eq!(before, effective_assignment(DirectoryStatus::Active, &g, &more));
    }

    #[test]
    fn products_are_exactly_the_union_of_matching_rules(rules in arb_rules(), g in arb_groups()) {
        let a = effective_assignment(DirectoryStatus::Active, &g, &rules);
        let expected: BTreeSet<String> = rules
            .iter()
            .filter(|r| g.contains(&r.group_id))
            .flat_map(|r| r.products.iter().cloned())
            .collect();
        prop_assert_eq!(&a.products, &expected);
        for (p, from) in &a.provenance.products {
            prop_assert!(a.products.contains(p));
            prop_assert!(!from.is_empty());
        }
    }

    #[test]
    fn single_valued_fields_come_from_the_top_matching_rule_that_sets_them(
        rules in arb_rules(), g in arb_groups(),
    ) {
        let a = effective_assignment(DirectoryStatus::Active, &g, &rules);
        let mut matching: Vec<&Rule> = rules.iter().filter(|r| g.contains(&r.group_id)).collect();
        matching.sort_by_key(|r| r.priority);
        if matching.is_empty() {
            prop_assert!(!a.is_active());
        } else {
            let top_role = matching.iter().find_map(|r| r.admin_role.clone()).unwrap_or(AdminRole::None);
            prop_assert_eq!(a.admin_role, top_role);
            let top_lang = matching.iter().find_map(|r| r.language.clone());
            prop_assert_eq!(a.language, top_lang);
        }
    }

    #[test]
    fn inactive_or_deleted_users_are_always_suspended(rules in arb_rules(), g in arb_groups()) {
        for s in [DirectoryStatus::Inactive, DirectoryStatus::Deleted] {
            let a = effective_assignment(s, &g, &rules);
            prop_assert!(!a.is_active());
            prop_assert!(a.products.is_empty());
            prop_assert_eq!(a.admin_role, AdminRole::None);
        }
    }
}

/// The assignment as it was computed before the rules were indexed: the
/// reference the indexed one must equal.
mod reference {
    use super::*;

    fn first_set<'r, T: Clone + 'r>(
        matching: &[&'r Rule],
        field: impl Fn(&'r Rule) -> Option<&'r T>,
    ) -> (Option<T>, Option<RuleId>) {
        matching
            .iter()
            .find_map(|r| field(r).map(|v| (Some(v.clone()), Some(r.id.clone()))))
            .unwrap_or((None, None))
    }

    fn union<'r>(
        matching: &[&'r Rule],
        field: impl Fn(&'r Rule) -> &'r BTreeSet<String>,
    ) -> (BTreeSet<String>, BTreeMap<String, Vec<RuleId>>) {
        let mut from: BTreeMap<String, Vec<RuleId>> = BTreeMap::new();
        for rule in matching {
            for item in field(rule) {
                match from.get_mut(item) {
                    Some(rules) => rules.push(rule.id.clone()),
                    None => {
                        from.insert(item.clone(), vec![rule.id.clone()]);
                    }
                }
            }
        }
        (from.keys().cloned().collect(), from)
    }

    pub fn effective_assignment(
        status: DirectoryStatus,
        groups: &BTreeSet<GroupId>,
        rules: &[Rule],
    ) -> EffectiveAssignment {
        let mut matching: Vec<&Rule> = rules
            .iter()
            .filter(|r| groups.contains(&r.group_id))
            .collect();
        sort_by_priority(&mut matching);
        let matched: Vec<RuleId> = matching.iter().map(|r| r.id.clone()).collect();
        match status {
            DirectoryStatus::Deleted => {
                return EffectiveAssignment::suspended(SuspendReason::Deleted, matched);
            }
            DirectoryStatus::Inactive => {
                return EffectiveAssignment::suspended(SuspendReason::Inactive, matched);
            }
            DirectoryStatus::Active if matching.is_empty() => {
                return EffectiveAssignment::suspended(SuspendReason::NoMatchingRule, matched);
            }
            DirectoryStatus::Active => {}
        }
        let (products, products_from) = union(&matching, |r| &r.products);
        let (device_groups, device_groups_from) = union(&matching, |r| &r.device_groups);
        let (admin_role, admin_role_from) = first_set(&matching, |r| r.admin_role.as_ref());
        let (user_group, user_group_from) = first_set(&matching, |r| r.user_group.as_ref());
        let (settings_template, settings_template_from) =
            first_set(&matching, |r| r.settings_template.as_ref());
        let (email_template, email_template_from) =
            first_set(&matching, |r| r.email_template.as_ref());
        let (language, language_from) = first_set(&matching, |r| r.language.as_ref());
        EffectiveAssignment {
            status: AssignmentStatus::Active,
            products,
            device_groups,
            admin_role: admin_role.unwrap_or(AdminRole::None),
            user_group,
            settings_template,
            email_template,
            language,
            provenance: Provenance {
                matched,
                products: products_from,
                device_groups: device_groups_from,
                admin_role: admin_role_from,
                user_group: user_group_from,
                settings_template: settings_template_from,
                email_template: email_template_from,
                language: language_from,
            },
        }
    }
}

fn arb_status() -> impl Strategy<Value = DirectoryStatus> {
    prop::sample::select(vec![
        DirectoryStatus::Active,
        DirectoryStatus::Active,
        DirectoryStatus::Inactive,
        DirectoryStatus::Deleted,
    ])
}

#[test]
fn the_index_finds_each_groups_rules_in_priority_order() {
    let mut rules = vec![rule("r3", "b", 3), rule("r1", "a", 1), rule("r2", "b", 2)];
    rules[0].products = set(&["P3"]);
    rules[2].products = set(&["P2"]);
    let index = RuleIndex::new(&rules);
    let a = index.assign(DirectoryStatus::Active, &groups(&["b", "z"]));
    let ids: Vec<&str> = a.matched.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r2", "r3"]);
    assert_eq!(a.to_assignment().products, set(&["P2", "P3"]));
    assert!(
        !index
            .assign(DirectoryStatus::Active, &groups(&["z"]))
            .to_assignment()
            .is_active()
    );
    assert!(
        RuleIndex::default()
            .assign(DirectoryStatus::Active, &groups(&["a"]))
            .matched
            .is_empty()
    );
}

proptest! {
    #[test]
    fn the_indexed_assignment_equals_the_reference(
        rules in arb_rules(), g in arb_groups(), status in arb_status(),
    ) {
        let expected = reference::effective_assignment(status, &g, &rules);
        let index = RuleIndex::new(&rules);
        prop_assert_eq!(&index.assign(status, &g).to_assignment(), &expected);
        prop_assert_eq!(&effective_assignment(status, &g, &rules), &expected);
    }
}

/// One change to a stored assignment, of any field the comparison reads.
fn mutate(a: &mut EffectiveAssignment, which: usize) {
    let rid = RuleId::parse("r-other").unwrap();
    let p = &mut a.provenance;
    match which % 16 {
        0 => {
            a.products.insert("P-extra".into());
        }
        1 => {
            a.products.pop_first();
        }
        2 => {
            if let Some(rules) = p.products.values_mut().next() {
                rules.push(rid);
            }
        }
        3 => {
            if let Some(rules) = p.products.values_mut().next() {
                rules.reverse();
                rules.push(rid);
                rules.pop();
                if rules.len() == 1 {
                    rules.clear();
                }
            }
        }
        4 => {
            a.device_groups.insert("D-extra".into());
            p.device_groups.insert("D-extra".into(), vec![rid]);
        }
        5 => a.admin_role = AdminRole::FullAdmin,
        6 => p.admin_role = Some(rid),
        7 => a.user_group = Some("UG-extra".into()),
        8 => p.user_group = None,
        9 => a.settings_template = Some("S-extra".into()),
        10 => p.email_template = Some(rid),
        11 => a.language = a.language.take().map_or(Some("xx".into()), |_| None),
        12 => p.language = Some(rid),
        13 => {
            p.matched.push(rid);
        }
        14 => p.matched.reverse(),
        _ => {
            a.status = match a.status {
                AssignmentStatus::Active => AssignmentStatus::Suspended {
                    reason: SuspendReason::NoMatchingRule,
                },
                AssignmentStatus::Suspended { .. } => AssignmentStatus::Active,
            }
        }
    }
}

proptest! {
    #[test]
    fn an_assignment_is_its_stored_shape_and_nothing_else(
        rules in arb_rules(),
        g in arb_groups(),
        other in arb_groups(),
        status in arb_status(),
        other_status in arb_status(),
        which in 0usize..16,
    ) {
        let index = RuleIndex::new(&rules);
        let a = index.assign(status, &g);
        let stored = a.to_assignment();
        prop_assert!(a.is(&stored));
        // another user's
        let b = index.assign(other_status, &other).to_assignment();
        prop_assert_eq!(a.is(&b), stored == b);
        // the stored one changed in one field
        let mut changed = stored.clone();
        mutate(&mut changed, which);
        prop_assert_eq!(a.is(&changed), stored == changed);
    }
}
