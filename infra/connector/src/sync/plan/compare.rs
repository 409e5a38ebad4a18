//! The comparison: the directory's users and groups against what the
//! endpoint holds, into a [`Plan`].

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Changes, Snapshot, SourceGroup, SourceUser};
use crate::scim::HeldUser;

use super::{Change, Create, GroupCreate, GroupUpdate, Held, Plan, Planner, Update};

/// The plan of a full run: every user and group in scope, and what left
/// (the directory's users in one page: see [`Planner`] for pages).
pub fn full(snapshot: &Snapshot, held: &Held) -> Plan {
    let mut planner = Planner::new(held.clone());
    planner.users(snapshot.users.clone());
    planner.finish(&snapshot.groups).0
}

/// The plan of an incremental run: only what changed since the marker.
/// Nothing is deactivated for being absent (absence says nothing here).
pub fn incremental(changes: &Changes, held: &Held) -> Plan {
    let mut plan = Plan::default();
    let mut creating = BTreeSet::new();
    for u in &changes.users {
        user(u.clone(), held, &mut plan, &mut creating);
    }
    groups(&changes.groups, held, &creating, &mut plan);
    plan
}

/// The create or update of one user, if any; `creating` receives the
/// `externalId` of a user created.
pub(super) fn user(u: SourceUser, held: &Held, plan: &mut Plan, creating: &mut BTreeSet<String>) {
    match held.users.get(&u.external_id) {
        None => {
            creating.insert(u.external_id.clone());
            plan.creates.push(Create { user: u });
        }
        Some(h) => {
            let changes = diff(&u, h, held);
            if !changes.is_empty() {
                plan.updates.push(Update {
                    id: h.id.clone(),
                    external_id: u.external_id,
                    changes,
                });
            }
        }
    }
}

/// The attributes of `held` that differ from the directory's.
fn diff(u: &SourceUser, h: &HeldUser, held: &Held) -> Vec<Change> {
    let mut out = Vec::new();
    if u.user_name != h.user_name {
        out.push(Change::UserName(u.user_name.clone()));
    }
    if u.active != h.active {
        out.push(Change::Active(u.active));
    }
    let mut opt =
        |want: &Option<String>, have: &Option<String>, make: fn(Option<String>) -> Change| {
            if want != have {
                out.push(make(want.clone()));
            }
        };
    let e = &u.enterprise;
    opt(&u.given_name, &h.given_name, Change::GivenName);
    opt(&u.family_name, &h.family_name, Change::FamilyName);
    opt(&u.display_name, &h.display_name, Change::DisplayName);
    opt(
        &e.employee_number,
        &h.employee_number,
        Change::EmployeeNumber,
    );
    opt(&e.department, &h.department, Change::Department);
    opt(&e.cost_center, &h.cost_center, Change::CostCenter);
    opt(&e.division, &h.division, Change::Division);
    if u.emails != h.emails {
        out.push(Change::Emails(u.emails.clone()));
    }
    if u.phone_numbers != h.phone_numbers {
        out.push(Change::PhoneNumbers(u.phone_numbers.clone()));
    }
    // the manager, compared by externalId: one the endpoint does not hold is
    // set once it is created (a manager out of scope is no manager)
    let have_manager = h.manager.as_ref().and_then(|id| held.ext_of.get(id));
    if e.manager.as_ref() != have_manager {
        out.push(Change::Manager(e.manager.clone()));
    }
    for (name, value) in &u.custom {
        let have = h
            .custom
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        if have != Some(value) {
            out.push(Change::Custom(name.clone(), Some(value.clone())));
        }
    }
    for name in h.custom.keys() {
        if !u.custom.keys().any(|k| k.eq_ignore_ascii_case(name)) {
            out.push(Change::Custom(name.clone(), None));
        }
    }
    out
}

/// Creates and updates of these groups; members the endpoint does not hold
/// and the plan does not create are counted as unresolved.
pub(super) fn groups(
    source: &[SourceGroup],
    held: &Held,
    creating: &BTreeSet<String>,
    plan: &mut Plan,
) {
    let known = |x: &str| held.users.contains_key(x) || creating.contains(x);
    for g in source {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        for m in &g.members {
            if known(m) {
                wanted.insert(m.as_str());
            } else {
                plan.unresolved_members += 1;
            }
        }
        match held.groups.get(&g.external_id) {
            None => plan.group_creates.push(GroupCreate {
                external_id: g.external_id.clone(),
                name: g.name.clone(),
                members: wanted.iter().map(|m| (*m).to_owned()).collect(),
            }),
            Some(h) => {
                let mut have: BTreeMap<&str, &str> = BTreeMap::new();
                let mut remove = Vec::new();
                for id in &h.members {
                    match held.ext_of.get(id) {
                        Some(x) if wanted.contains(x.as_str()) => {
                            have.insert(x.as_str(), id.as_str());
                        }
                        _ => remove.push(id.clone()),
                    }
                }
                let add: Vec<String> = wanted
                    .iter()
                    .filter(|m| !have.contains_key(*m))
                    .map(|m| (*m).to_owned())
                    .collect();
                let rename = (h.display_name != g.name).then(|| g.name.clone());
                if rename.is_some() || !add.is_empty() || !remove.is_empty() {
                    plan.group_updates.push(GroupUpdate {
                        id: h.id.clone(),
                        external_id: g.external_id.clone(),
                        rename,
                        add,
                        remove,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::{Deactivate, Why};
    use super::*;
    use crate::model::Enterprise;
    use crate::scim::HeldGroup;

    fn user(x: &str) -> SourceUser {
        SourceUser {
            external_id: x.into(),
            dn: format!("CN={x},OU=People,DC=example,DC=com"),
            user_name: format!("{x}@example.com"),
            active: true,
            given_name: Some("Given".into()),
            family_name: Some(x.into()),
            display_name: None,
            emails: vec![format!("{x}@example.com")],
            phone_numbers: vec![],
            enterprise: Enterprise::default(),
            custom: BTreeMap::new(),
        }
    }

    fn group(x: &str, name: &str, members: &[&str]) -> SourceGroup {
        SourceGroup {
            external_id: x.into(),
            dn: format!("CN={name},DC=example,DC=com"),
            name: name.into(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    /// What the endpoint would hold once `u` was pushed, with SCIM id
    /// `id-<externalId>`.
    fn held_user(u: &SourceUser) -> HeldUser {
        HeldUser {
            id: format!("id-{}", u.external_id),
            external_id: Some(u.external_id.clone()),
            user_name: u.user_name.clone(),
            active: u.active,
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            display_name: u.display_name.clone(),
            emails: u.emails.clone(),
            phone_numbers: u.phone_numbers.clone(),
            employee_number: u.enterprise.employee_number.clone(),
            department: u.enterprise.department.clone(),
            cost_center: u.enterprise.cost_center.clone(),
            division: u.enterprise.division.clone(),
            manager: u.enterprise.manager.as_ref().map(|m| format!("id-{m}")),
            custom: u.custom.clone(),
        }
    }

    fn held_group(g: &SourceGroup) -> HeldGroup {
        HeldGroup {
            id: format!("gid-{}", g.external_id),
            external_id: Some(g.external_id.clone()),
            display_name: g.name.clone(),
            members: g.members.iter().map(|m| format!("id-{m}")).collect(),
        }
    }

    fn snapshot(users: Vec<SourceUser>, groups: Vec<SourceGroup>) -> Snapshot {
        Snapshot {
            users,
            groups,
            marker: None,
        }
    }

    fn pushed(s: &Snapshot) -> Held {
        Held::new(
            s.users.iter().map(held_user).collect(),
            s.groups.iter().map(held_group).collect(),
        )
    }

    #[test]
    fn a_first_run_creates_everything_and_a_second_sends_nothing() {
        let mut boss = user("b");
        boss.enterprise.department = Some("Sales".into());
        let mut a = user("a");
        a.enterprise.manager = Some("b".into());
        let s = snapshot(vec![a, boss], vec![group("g1", "Sales", &["a", "b"])]);
        let plan = full(&s, &Held::default());
        assert_eq!(plan.creates.len(), 2);
        assert_eq!(plan.group_creates.len(), 1);
        assert_eq!(plan.group_creates[0].members, ["a", "b"]);
        assert_eq!(plan.counts().members_added, 2);
        assert!(plan.deactivations.is_empty());

        let again = full(&s, &pushed(&s));
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn only_changed_attributes_are_sent() {
        let s = snapshot(vec![user("a")], vec![]);
        let held = pushed(&s);
        let mut changed = user("a");
        changed.user_name = "renamed@example.com".into();
        changed.enterprise.department = Some("R&D".into());
        changed.custom.insert("badgeNumber".into(), "B7".into());
        changed.given_name = None;
        let plan = full(&snapshot(vec![changed], vec![]), &held);
        assert_eq!(plan.updates.len(), 1);
        assert_eq!(
            plan.updates[0].changes,
            [
                Change::UserName("renamed@example.com".into()),
                Change::GivenName(None),
                Change::Department(Some("R&D".into())),
                Change::Custom("badgeNumber".into(), Some("B7".into())),
            ]
        );
        assert_eq!(plan.counts().updated, 1);
    }

    #[test]
    fn a_moved_user_keeps_its_identity() {
        let s = snapshot(vec![user("a")], vec![]);
        let mut moved = user("a");
        moved.dn = "CN=a,OU=Elsewhere,DC=example,DC=com".into();
        assert!(full(&snapshot(vec![moved], vec![]), &pushed(&s)).is_empty());
    }

    #[test]
    fn disabled_left_and_returning_users() {
        let s = snapshot(vec![user("a"), user("b"), user("c")], vec![]);
        let mut held = pushed(&s);
        held.users.get_mut("c").unwrap().active = false;
        let mut a = user("a");
        a.active = false;
        // a disabled, b gone, c back
        let plan = full(&snapshot(vec![a, user("c")], vec![]), &held);
        assert_eq!(plan.updates.len(), 2);
        assert_eq!(plan.updates[0].changes, [Change::Active(false)]);
        assert_eq!(plan.updates[1].changes, [Change::Active(true)]);
        assert_eq!(
            plan.deactivations,
            [Deactivate {
                id: "id-b".into(),
                external_id: "b".into(),
                why: Why::LeftScope
            }]
        );
        let counts = plan.counts();
        assert_eq!(counts.deactivated, 2);
        assert_eq!(counts.reactivated, 1);
        assert_eq!(counts.updated, 0);
    }

    #[test]
    fn users_not_made_by_a_connector_are_never_touched() {
        let mut other = held_user(&user("x"));
        other.external_id = None;
        let held = Held::new(vec![other], vec![]);
        assert!(full(&snapshot(vec![], vec![]), &held).is_empty());
    }

    #[test]
    fn an_inactive_user_that_left_is_not_deactivated_again() {
        let s = snapshot(vec![user("a")], vec![]);
        let mut held = pushed(&s);
        held.users.get_mut("a").unwrap().active = false;
        assert!(full(&snapshot(vec![], vec![]), &held).is_empty());
    }

    #[test]
    fn groups_are_renamed_and_members_changed_by_difference() {
        let s = snapshot(
            vec![user("a"), user("b"), user("c")],
            vec![group("g1", "Sales", &["a", "b"])],
        );
        let held = pushed(&s);
        let now = snapshot(
            vec![user("a"), user("b"), user("c"), user("d")],
            vec![group("g1", "Sales EMEA", &["b", "c", "d"])],
        );
        let plan = full(&now, &held);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(
            plan.group_updates,
            [GroupUpdate {
                id: "gid-g1".into(),
                external_id: "g1".into(),
                rename: Some("Sales EMEA".into()),
                add: vec!["c".into(), "d".into()],
                remove: vec!["id-a".into()],
            }]
        );
        assert_eq!(plan.unresolved_members, 0);
    }

    #[test]
    fn a_group_that_left_the_scope_is_emptied() {
        let s = snapshot(vec![user("a")], vec![group("g1", "Sales", &["a"])]);
        let plan = full(&snapshot(vec![user("a")], vec![]), &pushed(&s));
        assert_eq!(plan.group_updates.len(), 1);
        assert_eq!(plan.group_updates[0].remove, ["id-a"]);
        assert!(plan.deactivations.is_empty());
    }

    #[test]
    fn a_manager_is_compared_by_external_id() {
        let mut a = user("a");
        a.enterprise.manager = Some("b".into());
        let s = snapshot(vec![a.clone(), user("b"), user("c")], vec![]);
        let held = pushed(&s);
        assert!(full(&s, &held).is_empty());
        a.enterprise.manager = Some("c".into());
        let plan = full(&snapshot(vec![a, user("b"), user("c")], vec![]), &held);
        assert_eq!(plan.updates[0].changes, [Change::Manager(Some("c".into()))]);
    }

    #[test]
    fn custom_attributes_compare_ignoring_the_name_case_and_are_removed() {
        let mut a = user("a");
        a.custom.insert("badgeNumber".into(), "B7".into());
        let s = snapshot(vec![a.clone()], vec![]);
        let mut held = pushed(&s);
        let h = held.users.get_mut("a").unwrap();
        h.custom = BTreeMap::from([("BadgeNumber".to_owned(), "B7".to_owned())]);
        assert!(full(&s, &held).is_empty());
        a.custom.clear();
        let plan = full(&snapshot(vec![a], vec![]), &held);
        assert_eq!(
            plan.updates[0].changes,
            [Change::Custom("BadgeNumber".into(), None)]
        );
    }

    #[test]
    fn an_incremental_run_deactivates_only_what_it_saw_disabled() {
        let s = snapshot(
            vec![user("a"), user("b")],
            vec![group("g1", "Sales", &["a"])],
        );
        let held = pushed(&s);
        let mut b = user("b");
        b.active = false;
        let changes = Changes {
            users: vec![b],
            groups: vec![group("g1", "Sales", &["a", "b", "zz"])],
            marker: None,
        };
        let plan = incremental(&changes, &held);
        assert!(plan.deactivations.is_empty());
        assert_eq!(plan.updates[0].changes, [Change::Active(false)]);
        assert_eq!(plan.group_updates[0].add, ["b"]);
        assert_eq!(plan.unresolved_members, 1);
        assert_eq!(plan.deactivation_count(), 1);
    }
}
