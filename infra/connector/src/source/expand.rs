//! Nested group expansion: which users a group contains, directly or
//! through groups that are its members, however deep and with cycles.

use std::collections::{BTreeMap, BTreeSet};

/// The membership graph read from the directory: group → its member groups
/// and member users (all keys normalized DNs).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub groups: BTreeMap<String, Members>,
}

#[derive(Debug, Clone, Default)]
pub struct Members {
    pub groups: BTreeSet<String>,
    pub users: BTreeSet<String>,
}

impl Graph {
    /// The users in `group` and, when `nested`, in every group reachable
    /// from it; each group is visited once, so cycles end.
    pub fn users_of(&self, group: &str, nested: bool) -> BTreeSet<String> {
        let mut users = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![group.to_owned()];
        while let Some(g) = stack.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            let Some(members) = self.groups.get(&g) else {
                continue;
            };
            users.extend(members.users.iter().cloned());
            if nested || g == group {
                for child in &members.groups {
                    if nested && !seen.contains(child) {
                        stack.push(child.clone());
                    }
                }
            }
        }
        users
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn graph(edges: &[(&str, &[&str], &[&str])]) -> Graph {
        let mut g = Graph::default();
        for (group, groups, users) in edges {
            g.groups.insert(
                (*group).into(),
                Members {
                    groups: groups.iter().map(|s| (*s).to_owned()).collect(),
                    users: users.iter().map(|s| (*s).to_owned()).collect(),
                },
            );
        }
        g
    }

    #[test]
    fn nested_groups_expand_and_cycles_end() {
        let g = graph(&[
            ("a", &["b"], &["u1"]),
            ("b", &["c"], &["u2"]),
            ("c", &["a", "b"], &["u3"]),
            ("d", &[], &["u4"]),
        ]);
        let all: Vec<_> = g.users_of("a", true).into_iter().collect();
        assert_eq!(all, vec!["u1", "u2", "u3"]);
        let direct: Vec<_> = g.users_of("a", false).into_iter().collect();
        assert_eq!(direct, vec!["u1"]);
        assert_eq!(g.users_of("c", true).len(), 3);
        assert!(g.users_of("missing", true).is_empty());
    }

    #[test]
    fn a_group_that_contains_itself_is_fine() {
        let g = graph(&[("a", &["a"], &["u1"])]);
        assert_eq!(g.users_of("a", true).len(), 1);
    }
}
