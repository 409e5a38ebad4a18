//! A full read of the scope and a read of what changed since a marker.

use std::collections::BTreeSet;

use ldap3::{Scope, SearchEntry, ldap_escape};
use tokio::sync::mpsc;

use crate::model::{ChangeMarker, Changes, Progress, Snapshot, SourceGroup, SourceUser};

use super::config::{ChangeTracking, Mapping, MappingConfig, ScopeConfig};
use super::emit::{self, Emitter, Sink};
use super::{
    GroupEntry, LOOKUP_BATCH, MAX_CHANGES, Source, SourceError, dn, first, latest, map, root_dse,
};

impl Source {
    /// Reads the whole scope, returned whole.
    pub async fn read_full(
        &mut self,
        scope: &ScopeConfig,
        mapping: &MappingConfig,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Snapshot, SourceError> {
        let (out, groups, marker) = self
            .read_scope(scope, mapping, progress, Sink::Collect(Vec::new()))
            .await?;
        Ok(Snapshot {
            users: out.into_users(),
            groups,
            marker,
        })
    }

    /// Reads the whole scope, its users sent to `pages` a batch at a time
    /// as they are found (in no particular order; each user once); returns
    /// the selected groups with their members, sorted by external id, and
    /// the marker. The read waits while `pages` is full.
    pub async fn read_full_paged(
        &mut self,
        scope: &ScopeConfig,
        mapping: &MappingConfig,
        progress: &mut dyn FnMut(Progress),
        pages: mpsc::Sender<Vec<SourceUser>>,
    ) -> Result<(Vec<SourceGroup>, Option<ChangeMarker>), SourceError> {
        let (_, groups, marker) = self
            .read_scope(scope, mapping, progress, Sink::Pages(pages))
            .await?;
        Ok((groups, marker))
    }

    async fn read_scope(
        &mut self,
        scope: &ScopeConfig,
        mapping: &MappingConfig,
        progress: &mut dyn FnMut(Progress),
        sink: Sink,
    ) -> Result<(Emitter, Vec<SourceGroup>, Option<ChangeMarker>), SourceError> {
        scope.validate(self.kind)?;
        let mapping = self.mapping(mapping)?;
        // Taken first: a change made during the read is seen again next time.
        let start_marker = self.usn_marker(&mapping).await?;
        let bases = self.check_bases(scope).await?;
        let selected = self.selected_groups(scope, &mapping).await?;
        progress(Progress::GroupsRead(selected.len()));
        let mut out = Emitter::new(bases, sink);
        let walk = self
            .walk(&selected, scope, &mapping, progress, &mut out)
            .await?;
        let groups = emit::groups(&selected, &walk.graph, &out, scope);
        let newest = latest(
            walk.latest_modify,
            selected.iter().filter_map(|g| g.modified.clone()).max(),
        );
        let marker = match mapping.changes {
            ChangeTracking::Usn => start_marker,
            ChangeTracking::ModifyTimestamp => {
                newest.map(|timestamp| ChangeMarker::ModifyTimestamp { timestamp })
            }
            ChangeTracking::EntryCsn => newest.map(|csn| ChangeMarker::EntryCsn { csn }),
        };
        Ok((out, groups, marker))
    }

    /// Reads what changed since `since`: users in scope modified since, and
    /// the selected groups modified since or whose nested groups were, read
    /// whole (with every user they contain). `None` when the marker cannot
    /// be used (another domain controller, a restored database, another
    /// kind of marker, or more than [`MAX_CHANGES`] changes): the caller
    /// does a full read.
    pub async fn read_changes(
        &mut self,
        scope: &ScopeConfig,
        mapping: &MappingConfig,
        since: &ChangeMarker,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Option<Changes>, SourceError> {
        scope.validate(self.kind)?;
        let mapping = self.mapping(mapping)?;
        let (changed_filter, new_marker) = match (mapping.changes, since) {
            (
                ChangeTracking::Usn,
                ChangeMarker::ActiveDirectory {
                    server,
                    invocation_id,
                    usn,
                },
            ) => {
                let Some(now) = self.usn_marker(&mapping).await? else {
                    return Ok(None);
                };
                let ChangeMarker::ActiveDirectory {
                    server: now_server,
                    invocation_id: now_invocation,
                    usn: now_usn,
                } = &now
                else {
                    return Ok(None);
                };
                if now_server != server || now_invocation != invocation_id || now_usn < usn {
                    return Ok(None);
                }
                (
                    format!("(uSNChanged>={})", usn.saturating_add(1)),
                    Some(now),
                )
            }
            (ChangeTracking::ModifyTimestamp, ChangeMarker::ModifyTimestamp { timestamp }) => {
                if !timestamp
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, 'Z' | '.' | '+' | '-'))
                {
                    return Ok(None);
                }
                (
                    format!("(modifyTimestamp>={timestamp})"),
                    Some(since.clone()),
                )
            }
            (ChangeTracking::EntryCsn, ChangeMarker::EntryCsn { csn }) => {
                if !csn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '#'))
                {
                    return Ok(None);
                }
                // strictly after the marker: each change has its own CSN
                (
                    format!("(&(entryCSN>={csn})(!(entryCSN={csn})))"),
                    Some(since.clone()),
                )
            }
            _ => return Ok(None),
        };
        // Changed users under the base DNs (the whole tree without them),
        // changed groups anywhere: changes elsewhere are not even counted.
        let bases = self.check_bases(scope).await?;
        let user_filter = format!(
            "(&{changed_filter}{}{})",
            mapping.user_object_filter,
            scope.user_filter.as_deref().unwrap_or("")
        );
        let group_filter = format!(
            "(&{changed_filter}(objectClass={}))",
            ldap_escape(&mapping.group_object_class)
        );
        let attrs = vec![
            "objectClass".to_owned(),
            mapping.changes.attribute().to_owned(),
        ];
        let naming_context = self.naming_context.clone();
        let user_bases: Vec<String> = if scope.base_dns.is_empty() {
            vec![naming_context.clone()]
        } else {
            scope.base_dns.clone()
        };
        let mut changed: Vec<SearchEntry> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let searches = user_bases
            .iter()
            .map(|b| (b.as_str(), user_filter.as_str()))
            .chain(std::iter::once((
                naming_context.as_str(),
                group_filter.as_str(),
            )));
        for (base, filter) in searches {
            let found = self
                .conn
                .search(
                    "the search for changes",
                    base,
                    Scope::Subtree,
                    filter,
                    &attrs,
                )
                .await?;
            for entry in found {
                if seen.insert(dn::normalize(&entry.dn)) {
                    changed.push(entry);
                }
            }
            if changed.len() > MAX_CHANGES {
                return Ok(None);
            }
        }
        let newest = changed
            .iter()
            .filter_map(|e| map::first_text(e, mapping.changes.attribute()))
            .max();
        let marker = match new_marker {
            Some(ChangeMarker::ModifyTimestamp { timestamp }) => latest(Some(timestamp), newest)
                .map(|timestamp| ChangeMarker::ModifyTimestamp { timestamp }),
            Some(ChangeMarker::EntryCsn { csn }) => {
                latest(Some(csn), newest).map(|csn| ChangeMarker::EntryCsn { csn })
            }
            other => other,
        };
        if changed.is_empty() {
            return Ok(Some(Changes {
                users: Vec::new(),
                groups: Vec::new(),
                marker,
            }));
        }
        let selected = self.selected_groups(scope, &mapping).await?;
        let selected_norms: BTreeSet<String> = selected.iter().map(|g| g.norm.clone()).collect();
        let mut affected: BTreeSet<String> = BTreeSet::new();
        let mut changed_users: Vec<String> = Vec::new();
        for entry in &changed {
            let norm = dn::normalize(&entry.dn);
            let is_group = map::has_class(entry, &mapping.group_object_class);
            if is_group && selected_norms.contains(&norm) {
                affected.insert(norm.clone());
            }
            if is_group && !scope.nested {
                continue;
            }
            let ancestors = self
                .selected_ancestors(&entry.dn, &selected_norms, &mapping, scope.nested)
                .await?;
            if !is_group && !ancestors.is_empty() {
                changed_users.push(entry.dn.clone());
            }
            if is_group {
                affected.extend(ancestors);
            }
        }
        let affected: Vec<GroupEntry> = selected
            .into_iter()
            .filter(|g| affected.contains(&g.norm))
            .collect();
        let mut out = Emitter::new(bases, Sink::Collect(Vec::new()));
        let walk = self
            .walk(&affected, scope, &mapping, progress, &mut out)
            .await?;
        // Changed users in scope that the affected groups did not reach.
        let missing: Vec<String> = changed_users
            .into_iter()
            .filter(|d| !out.reached(&dn::normalize(d)))
            .collect();
        let attrs = map::entry_attributes(&mapping, &self.member_request(&mapping, 0));
        for batch in missing.chunks(LOOKUP_BATCH) {
            let mut users = Vec::new();
            for entry in self.lookup(batch, &mapping, scope, &attrs).await? {
                if !map::has_class(&entry, &mapping.group_object_class)
                    && let Some(user) = map::user(&entry, &mapping)
                {
                    users.push((dn::normalize(&entry.dn), user));
                }
            }
            self.emit(users, &mapping, &mut out).await?;
        }
        let groups = emit::groups(&affected, &walk.graph, &out, scope);
        Ok(Some(Changes {
            users: out.into_users(),
            groups,
            marker,
        }))
    }

    /// Active Directory's marker now: `highestCommittedUSN`, the server,
    /// and its database's `invocationId`. `None` for other directories.
    async fn usn_marker(&mut self, mapping: &Mapping) -> Result<Option<ChangeMarker>, SourceError> {
        if mapping.changes != ChangeTracking::Usn {
            return Ok(None);
        }
        let root = root_dse(&mut self.conn).await?;
        let usn = first(&root, "highestCommittedUSN").and_then(|u| u.parse::<u64>().ok());
        let service = first(&root, "dsServiceName");
        let (Some(usn), Some(service)) = (usn, service) else {
            return Ok(None);
        };
        let server = first(&root, "dnsHostName").unwrap_or_else(|| service.clone());
        let settings = self
            .conn
            .read_entry(
                "reading the domain controller's invocationId",
                &service,
                &["invocationId".to_owned()],
                false,
            )
            .await?;
        let Some(invocation_id) = settings.as_ref().and_then(|e| map::guid(e, "invocationId"))
        else {
            return Ok(None);
        };
        Ok(Some(ChangeMarker::ActiveDirectory {
            server,
            invocation_id,
            usn,
        }))
    }
}
