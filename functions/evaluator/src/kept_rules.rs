//! The organizations' rules as a warm instance keeps them, with the
//! configuration's version they were read at. A batch reads the version
//! with its users ([`ReconcileReads::users_with_config`], no more calls)
//! and uses the rules kept while the version is still theirs: every rule
//! write and reorder moves the version on in the same transaction as the
//! rules, so rules kept are never used after they changed. The sync switch
//! is never kept: it comes with the version.
//!
//! [`ReconcileReads::users_with_config`]: user_sync_core::ports::ReconcileReads::users_with_config

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use user_sync_core::ids::OrgId;
use user_sync_core::rules::Rule;

/// Organizations whose rules one instance keeps at most; past it, what is
/// kept is dropped and read again.
const MAX_KEPT: usize = 1_000;

/// An organization's rules with the configuration version they were read at.
pub type Versioned = (u64, Arc<Vec<Rule>>);

/// The rules read, by organization.
#[derive(Debug, Default)]
pub struct KeptRules {
    kept: Mutex<HashMap<OrgId, Versioned>>,
}

impl KeptRules {
    /// The organization's rules as last read, with their version.
    pub fn of(&self, org: &OrgId) -> Option<Versioned> {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(org)
            .cloned()
    }

    /// Keeps the organization's rules read at `version`.
    pub fn keep(&self, org: &OrgId, version: u64, rules: &[Rule]) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MAX_KEPT && !kept.contains_key(org) {
            kept.clear();
        }
        kept.insert(org.clone(), (version, Arc::new(rules.to_vec())));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_last_rules_read_are_kept_with_their_version_within_a_bound() {
        let kept = KeptRules::default();
        let acme = OrgId::parse("acme").unwrap();
        assert!(kept.of(&acme).is_none());
        kept.keep(&acme, 3, &[]);
        kept.keep(&acme, 4, &[]);
        assert_eq!(kept.of(&acme).map(|(v, _)| v), Some(4));
        for n in 0..MAX_KEPT {
            kept.keep(&OrgId::parse(&format!("org-{n}")).unwrap(), 1, &[]);
        }
        assert!(kept.kept.lock().unwrap().len() <= MAX_KEPT);
    }
}
