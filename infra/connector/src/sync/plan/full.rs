//! The plan of a full run, built as the directory's users arrive, a page at
//! a time: each page is compared with what the endpoint holds and kept only
//! as the requests it calls for. What the planner remembers of the users it
//! saw is their `externalId`s; deactivations (users the endpoint holds that
//! no page brought) and groups are decided at the end, once every page was
//! seen, so the deactivation guard weighs the whole run.

use std::collections::{BTreeSet, HashSet};

use crate::model::{SourceGroup, SourceUser};
use crate::scim::HeldGroup;

use super::compare::{groups, user};
use super::{Deactivate, GroupUpdate, Held, Plan, Why};

/// A full run's plan in the making.
#[derive(Debug)]
pub struct Planner {
    held: Held,
    plan: Plan,
    /// Every `externalId` a page brought.
    seen: HashSet<String>,
    /// The `externalId`s of the users the plan creates.
    creating: BTreeSet<String>,
}

impl Planner {
    /// A plan against what the endpoint holds.
    pub fn new(held: Held) -> Self {
        Self {
            held,
            plan: Plan::default(),
            seen: HashSet::new(),
            creating: BTreeSet::new(),
        }
    }

    /// Plans one page of the directory's users (a user seen before is
    /// planned once).
    pub fn users(&mut self, page: Vec<SourceUser>) {
        for u in page {
            if self.seen.insert(u.external_id.clone()) {
                user(u, &self.held, &mut self.plan, &mut self.creating);
            }
        }
    }

    /// Users seen so far.
    pub fn users_seen(&self) -> usize {
        self.seen.len()
    }

    /// The whole plan, once every page was seen: the users that left, the
    /// selected `groups` (sorted by `externalId`) and the groups that left
    /// the scope; creates and updates in `externalId` order. The held
    /// resources are handed back (their ids are what the plan is sent with).
    pub fn finish(self, groups_in_scope: &[SourceGroup]) -> (Plan, Held) {
        let Self {
            held,
            mut plan,
            seen,
            creating,
        } = self;
        plan.creates
            .sort_by(|a, b| a.user.external_id.cmp(&b.user.external_id));
        plan.updates
            .sort_by(|a, b| a.external_id.cmp(&b.external_id));
        let mut left: Vec<(&String, &String)> = held
            .users
            .iter()
            .filter(|(x, u)| u.active && !seen.contains(*x))
            .map(|(x, u)| (x, &u.id))
            .collect();
        left.sort();
        plan.deactivations = left
            .into_iter()
            .map(|(x, id)| Deactivate {
                id: id.clone(),
                external_id: x.clone(),
                why: Why::LeftScope,
            })
            .collect();
        drop(seen);
        groups(groups_in_scope, &held, &creating, &mut plan);
        // groups that left the scope keep no members: their rules no longer
        // apply to anyone
        let selected: BTreeSet<&str> = groups_in_scope
            .iter()
            .map(|g| g.external_id.as_str())
            .collect();
        let mut gone: Vec<&HeldGroup> = held
            .groups
            .iter()
            .filter(|(x, g)| !selected.contains(x.as_str()) && !g.members.is_empty())
            .map(|(_, g)| g)
            .collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        for g in gone {
            plan.group_updates.push(GroupUpdate {
                id: g.id.clone(),
                external_id: g.external_id.clone().unwrap_or_default(),
                rename: None,
                add: Vec::new(),
                remove: g.members.clone(),
            });
        }
        (plan, held)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Enterprise, Snapshot};
    use crate::scim::HeldUser;
    use crate::sync::plan::full;

    fn user(x: &str, active: bool, manager: Option<&str>) -> SourceUser {
        SourceUser {
            external_id: x.into(),
            dn: format!("uid={x},ou=People,dc=example,dc=com"),
            user_name: format!("{x}@example.com"),
            active,
            given_name: Some("Given".into()),
            family_name: Some(x.into()),
            display_name: None,
            emails: vec![format!("{x}@example.com")],
            phone_numbers: vec![],
            enterprise: Enterprise {
                manager: manager.map(str::to_owned),
                ..Enterprise::default()
            },
            custom: BTreeMap::new(),
        }
    }

    fn held(x: &str, active: bool) -> HeldUser {
        HeldUser {
            id: format!("id-{x}"),
            external_id: Some(x.into()),
            user_name: format!("{x}@example.com"),
            active,
            given_name: Some("Given".into()),
            family_name: Some(x.into()),
            emails: vec![format!("{x}@example.com")],
            ..HeldUser::default()
        }
    }

    /// Users in any order and split into any pages make the same plan as
    /// the whole directory at once, and a user brought twice is planned once.
    #[test]
    fn pages_in_any_order_make_the_same_plan_as_one_read() {
        let endpoint = Held::new(
            vec![
                held("a", true),
                held("b", true),
                held("c", false),
                held("gone", true),
                held("gone-inactive", false),
            ],
            vec![HeldGroup {
                id: "gid-g".into(),
                external_id: Some("g".into()),
                display_name: "Sales".into(),
                members: vec!["id-a".into(), "id-gone".into()],
            }],
        );
        let mut a = user("a", true, Some("new"));
        a.enterprise.department = Some("R&D".into());
        let users = vec![
            a,
            user("b", false, None),
            user("c", true, None),
            user("new", true, None),
            user("z", true, Some("a")),
        ];
        let group = SourceGroup {
            external_id: "g".into(),
            dn: "cn=Sales,dc=example,dc=com".into(),
            name: "Sales".into(),
            members: vec!["a".into(), "new".into(), "z".into()],
        };
        let whole = full(
            &Snapshot {
                users: users.clone(),
                groups: vec![group.clone()],
                marker: None,
            },
            &endpoint,
        );
        assert_eq!(whole.creates.len(), 2);
        assert_eq!(whole.deactivations.len(), 1);
        assert_eq!(whole.deactivation_count(), 2);

        let mut planner = Planner::new(Held::new(
            endpoint.users.values().cloned().collect(),
            endpoint.groups.values().cloned().collect(),
        ));
        let mut reversed = users.clone();
        reversed.reverse();
        planner.users(reversed[..2].to_vec());
        planner.users(reversed[2..].to_vec());
        planner.users(vec![users[0].clone()]);
        assert_eq!(planner.users_seen(), 5);
        let (paged, _) = planner.finish(&[group]);
        assert_eq!(paged, whole);
    }
}
