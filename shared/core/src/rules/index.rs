//! The rules of one organization indexed by group, built once per batch of
//! users: a user's matching rules are found by looking up each of its groups
//! instead of testing every rule.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use super::{Assigned, Rule, sort_by_priority};
use crate::directory::DirectoryStatus;
use crate::ids::GroupId;

/// An organization's rules, grouped by the directory group they name.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    /// Sorted by group, then priority.
    rules: Vec<Rule>,
    /// Each group's rules: a range of `rules`.
    by_group: HashMap<GroupId, Range<usize>>,
}

impl RuleIndex {
    /// Indexes `rules` (in any order; only their priorities matter).
    pub fn new(rules: &[Rule]) -> Self {
        let mut sorted: Vec<&Rule> = rules.iter().collect();
        sort_by_priority(&mut sorted);
        // stable: within a group, rules stay in priority order
        sorted.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        let rules: Vec<Rule> = sorted.into_iter().cloned().collect();
        let mut by_group: HashMap<GroupId, Range<usize>> = HashMap::new();
        for (at, rule) in rules.iter().enumerate() {
            by_group
                .entry(rule.group_id.clone())
                .and_modify(|range| range.end = at + 1)
                .or_insert(at..at + 1);
        }
        Self { rules, by_group }
    }

    /// The rules, by group and then priority.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// One user's assignment, as references into the indexed rules.
    pub fn assign(&self, status: DirectoryStatus, groups: &BTreeSet<GroupId>) -> Assigned<'_> {
        // a user matches a handful of rules: room for them from the start
        let mut matched: Vec<&Rule> = Vec::with_capacity(8);
        for group in groups {
            if let Some(range) = self.by_group.get(group) {
                matched.extend(self.rules[range.clone()].iter());
            }
        }
        sort_by_priority(&mut matched);
        Assigned::new(status, matched)
    }
}
