//! Handing the users of a read on as the walk finds them, one batch at a
//! time: narrowed to the base DNs, their managers resolved to external ids,
//! each user once. What a read keeps of the users it handed on is compact:
//! their DNs and external ids (for group members and managers).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ldap3::{Scope, ldap_escape};
use tokio::sync::mpsc;

use crate::model::{SourceGroup, SourceUser};

use super::config::{Mapping, ScopeConfig};
use super::expand::Graph;
use super::{GroupEntry, LOOKUP_BATCH, Source, SourceError, dn, map};

/// Where the users of a read go.
#[derive(Debug)]
pub enum Sink {
    /// Kept, for a read returned whole.
    Collect(Vec<SourceUser>),
    /// Sent on, a batch at a time; the read waits while the receiver is
    /// behind (its buffer is full), so a read holds a few batches at most.
    Pages(mpsc::Sender<Vec<SourceUser>>),
}

/// The state of a read's users.
#[derive(Debug)]
pub(super) struct Emitter {
    /// The normalized `scope.base_dns` (none: the whole tree).
    bases: Vec<String>,
    /// Every user entry mapped so far, by normalized DN: its external id
    /// when it is in the base DNs, `None` when it is not.
    reached: BTreeMap<String, Option<String>>,
    /// Managers looked up by DN: their external id, `None` when not found.
    managers: BTreeMap<String, Option<String>>,
    /// External ids handed on (a user is handed on once).
    handed: HashSet<String>,
    sink: Sink,
}

impl Emitter {
    pub(super) fn new(bases: Vec<String>, sink: Sink) -> Self {
        Self {
            bases,
            reached: BTreeMap::new(),
            managers: BTreeMap::new(),
            handed: HashSet::new(),
            sink,
        }
    }

    /// Whether the user entry `norm` was mapped already (in the bases or not).
    pub(super) fn reached(&self, norm: &str) -> bool {
        self.reached.contains_key(norm)
    }

    /// The external id of the user `norm`, when it is in scope.
    pub(super) fn in_scope(&self, norm: &str) -> Option<&String> {
        self.reached.get(norm).and_then(Option::as_ref)
    }

    /// Users handed on so far.
    pub(super) fn count(&self) -> usize {
        self.handed.len()
    }

    /// The users kept, sorted by external id (empty when they were sent on).
    pub(super) fn into_users(self) -> Vec<SourceUser> {
        match self.sink {
            Sink::Collect(mut users) => {
                users.sort_by(|a, b| a.external_id.cmp(&b.external_id));
                users
            }
            Sink::Pages(_) => Vec::new(),
        }
    }

    fn in_base(&self, norm: &str) -> bool {
        self.bases.is_empty() || self.bases.iter().any(|b| dn::is_under(norm, b))
    }
}

impl Source {
    /// Hands on one batch of mapped users (normalized DN, user): those in
    /// the base DNs, not handed on before, with their managers resolved
    /// (looked up by DN when the read has not met them).
    pub(super) async fn emit(
        &mut self,
        batch: Vec<(String, map::RawUser)>,
        mapping: &Mapping,
        out: &mut Emitter,
    ) -> Result<(), SourceError> {
        let mut kept = Vec::with_capacity(batch.len());
        for (norm, raw) in batch {
            if out.in_base(&norm) {
                out.reached.insert(norm, Some(raw.user.external_id.clone()));
                kept.push(raw);
            } else {
                out.reached.entry(norm).or_insert(None);
            }
        }
        let unknown: Vec<String> = kept
            .iter()
            .filter_map(|r| r.manager_dn.as_deref())
            .filter(|m| {
                let norm = dn::normalize(m);
                out.in_scope(&norm).is_none() && !out.managers.contains_key(&norm)
            })
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        self.look_up_managers(&unknown, mapping, out).await?;
        let mut page = Vec::with_capacity(kept.len());
        for raw in kept {
            let mut user = raw.user;
            user.enterprise.manager = raw.manager_dn.and_then(|m| {
                let norm = dn::normalize(&m);
                out.in_scope(&norm)
                    .or_else(|| out.managers.get(&norm).and_then(Option::as_ref))
                    .cloned()
            });
            if out.handed.insert(user.external_id.clone()) {
                page.push(user);
            }
        }
        if page.is_empty() {
            return Ok(());
        }
        match &mut out.sink {
            Sink::Collect(users) => users.extend(page),
            Sink::Pages(tx) => tx.send(page).await.map_err(|_| SourceError::Stopped)?,
        }
        Ok(())
    }

    /// Managers outside the users read so far, by DN, into the emitter's
    /// cache (a DN not found is remembered as such).
    async fn look_up_managers(
        &mut self,
        dns: &[String],
        mapping: &Mapping,
        out: &mut Emitter,
    ) -> Result<(), SourceError> {
        let id_attr = vec![mapping.external_id.clone()];
        let base = self.naming_context.clone();
        for batch in dns.chunks(LOOKUP_BATCH) {
            let any: String = batch
                .iter()
                .map(|d| format!("({}={})", mapping.dn_attribute, ldap_escape(d)))
                .collect();
            let found = self
                .conn
                .search(
                    "the lookup of managers",
                    &base,
                    Scope::Subtree,
                    &format!("(|{any})"),
                    &id_attr,
                )
                .await?;
            for d in batch {
                out.managers.insert(dn::normalize(d), None);
            }
            for entry in found {
                if let Some(id) = map::external_id(&entry, mapping) {
                    out.managers.insert(dn::normalize(&entry.dn), Some(id));
                }
            }
        }
        Ok(())
    }
}

/// The selected groups with their members in scope (external ids, sorted),
/// sorted by external id.
pub(super) fn groups(
    selected: &[GroupEntry],
    graph: &Graph,
    out: &Emitter,
    scope: &ScopeConfig,
) -> Vec<SourceGroup> {
    let mut groups: Vec<SourceGroup> = selected
        .iter()
        .map(|g| {
            let mut members: Vec<String> = graph
                .users_of(&g.norm, scope.nested)
                .iter()
                .filter_map(|u| out.in_scope(u).cloned())
                .collect();
            members.sort();
            members.dedup();
            SourceGroup {
                external_id: g.external_id.clone(),
                dn: g.dn.clone(),
                name: g.name.clone(),
                members,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    groups
}
