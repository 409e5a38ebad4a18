//! Walking the scope: the selected groups, their members in batches, nested
//! groups; the users found are handed on batch by batch ([`super::emit`]).

use std::collections::{BTreeMap, BTreeSet};

use ldap3::{Scope, SearchEntry, ldap_escape};

use crate::model::Progress;

use super::config::{Mapping, ScopeConfig};
use super::emit::Emitter;
use super::expand::Members;
use super::{GroupEntry, IN_CHAIN, LOOKUP_BATCH, Source, SourceError, Walk, dn, latest, map};

impl Source {
    /// The normalized `scope.base_dns`, each checked to exist.
    pub(super) async fn check_bases(
        &mut self,
        scope: &ScopeConfig,
    ) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::with_capacity(scope.base_dns.len());
        for (i, base) in scope.base_dns.iter().enumerate() {
            let key = format!("scope.base_dns[{i}]");
            let found = self
                .conn
                .read_entry(&key, base, &["1.1".to_owned()], false)
                .await?;
            if found.is_none() {
                return Err(SourceError::NoSuchEntry {
                    key,
                    dn: base.clone(),
                });
            }
            out.push(dn::normalize(base));
        }
        Ok(out)
    }

    /// The selected groups: by DN (each must exist and be a group) and by
    /// filter.
    pub(super) async fn selected_groups(
        &mut self,
        scope: &ScopeConfig,
        mapping: &Mapping,
    ) -> Result<Vec<GroupEntry>, SourceError> {
        let attrs = map::group_attributes(mapping, &self.member_request(mapping, 0));
        let mut groups: BTreeMap<String, GroupEntry> = BTreeMap::new();
        for (i, group_dn) in scope.groups.iter().enumerate() {
            let key = format!("scope.groups[{i}]");
            let entry = self
                .conn
                .read_entry(&key, group_dn, &attrs, false)
                .await?
                .ok_or_else(|| SourceError::NoSuchEntry {
                    key: key.clone(),
                    dn: group_dn.clone(),
                })?;
            if !map::has_class(&entry, &mapping.group_object_class) {
                return Err(SourceError::NotAGroup {
                    key,
                    dn: group_dn.clone(),
                });
            }
            let group = self.group(entry, mapping).await?;
            groups.insert(group.norm.clone(), group);
        }
        if let Some(filter) = &scope.group_filter {
            let filter = format!(
                "(&(objectClass={}){filter})",
                ldap_escape(&mapping.group_object_class)
            );
            let base = self.naming_context.clone();
            let found = self
                .conn
                .search("scope.group_filter", &base, Scope::Subtree, &filter, &attrs)
                .await?;
            for entry in found {
                let group = self.group(entry, mapping).await?;
                groups.insert(group.norm.clone(), group);
            }
        }
        Ok(groups.into_values().collect())
    }

    /// A group entry with its whole member list (range retrieval).
    async fn group(
        &mut self,
        entry: SearchEntry,
        mapping: &Mapping,
    ) -> Result<GroupEntry, SourceError> {
        let members = self.members(&entry, mapping).await?;
        let external_id = map::external_id(&entry, mapping).unwrap_or_default();
        let name = map::first_text(&entry, &mapping.group_name).unwrap_or_else(|| {
            dn::split_rdns(&entry.dn)
                .first()
                .map_or(String::new(), |r| {
                    r.split_once('=')
                        .map_or((*r).to_owned(), |(_, v)| v.to_owned())
                })
        });
        Ok(GroupEntry {
            norm: dn::normalize(&entry.dn),
            modified: map::first_text(&entry, mapping.changes.attribute()),
            dn: entry.dn,
            external_id,
            name,
            members,
        })
    }

    /// Every value of the member attribute: when the directory returned a
    /// range (`member;range=0-1499`), the next ranges are asked for until
    /// the last (`…-*`), each a unit of resumption.
    async fn members(
        &mut self,
        entry: &SearchEntry,
        mapping: &Mapping,
    ) -> Result<Vec<String>, SourceError> {
        let attribute = &mapping.member_attribute;
        let mut members: Vec<String> = Vec::new();
        let mut next: Option<u64> = None;
        for (name, values) in &entry.attrs {
            if name.eq_ignore_ascii_case(attribute) {
                members.extend(values.iter().cloned());
            } else if let Some((_, end)) = dn::parse_range(name, attribute) {
                members.extend(values.iter().cloned());
                if let dn::RangeEnd::At(high) = end {
                    next = Some(high.saturating_add(1));
                }
            }
        }
        while let Some(low) = next.take() {
            let request = self.member_request(mapping, low);
            let step = self
                .conn
                .read_entry(
                    "the range retrieval of a group's members",
                    &entry.dn,
                    &[request],
                    true,
                )
                .await?;
            let Some(step) = step else { break };
            for (name, values) in &step.attrs {
                if let Some((got_low, end)) = dn::parse_range(name, attribute) {
                    if got_low != low {
                        continue;
                    }
                    members.extend(values.iter().cloned());
                    if let dn::RangeEnd::At(high) = end {
                        next = Some(high.saturating_add(1));
                    }
                }
            }
        }
        Ok(members)
    }

    /// Looks up DNs: the users (narrowed by the user filters) and groups
    /// among them, one paged search per call.
    pub(super) async fn lookup(
        &mut self,
        dns: &[String],
        mapping: &Mapping,
        scope: &ScopeConfig,
        attrs: &[String],
    ) -> Result<Vec<SearchEntry>, SourceError> {
        let any: String = dns
            .iter()
            .map(|d| format!("({}={})", mapping.dn_attribute, ldap_escape(d)))
            .collect();
        let filter = format!(
            "(&(|{any})(|(objectClass={})(&{}{})))",
            ldap_escape(&mapping.group_object_class),
            mapping.user_object_filter,
            scope.user_filter.as_deref().unwrap_or("")
        );
        let base = self.naming_context.clone();
        self.conn
            .search(
                "the lookup of group members",
                &base,
                Scope::Subtree,
                &filter,
                attrs,
            )
            .await
    }

    /// Walks from the selected groups through their members.
    pub(super) async fn walk(
        &mut self,
        selected: &[GroupEntry],
        scope: &ScopeConfig,
        mapping: &Mapping,
        progress: &mut dyn FnMut(Progress),
        out: &mut Emitter,
    ) -> Result<Walk, SourceError> {
        if scope.in_chain {
            let user_filter = scope.user_filter.as_deref().unwrap_or("");
            return self
                .walk_in_chain(selected, user_filter, mapping, progress, out)
                .await;
        }
        let mut walk = Walk::default();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut frontier: Vec<String> = Vec::new();
        for g in selected {
            seen.insert(g.norm.clone());
            walk.graph.groups.insert(g.norm.clone(), Members::default());
            frontier.extend(g.members.iter().cloned());
        }
        let mut raw_members: BTreeMap<String, Vec<String>> = selected
            .iter()
            .map(|g| (g.norm.clone(), g.members.clone()))
            .collect();
        let attrs = map::entry_attributes(mapping, &self.member_request(mapping, 0));
        while !frontier.is_empty() {
            let mut batch = Vec::with_capacity(LOOKUP_BATCH);
            while batch.len() < LOOKUP_BATCH {
                let Some(d) = frontier.pop() else { break };
                if seen.insert(dn::normalize(&d)) {
                    batch.push(d);
                }
            }
            if batch.is_empty() {
                continue;
            }
            let mut users = Vec::new();
            for entry in self.lookup(&batch, mapping, scope, &attrs).await? {
                let norm = dn::normalize(&entry.dn);
                walk.latest_modify = latest(
                    walk.latest_modify.take(),
                    map::first_text(&entry, mapping.changes.attribute()),
                );
                if map::has_class(&entry, &mapping.group_object_class) {
                    walk.groups_read += 1;
                    if scope.nested {
                        let members = self.members(&entry, mapping).await?;
                        frontier.extend(members.iter().cloned());
                        raw_members.insert(norm.clone(), members);
                    }
                    walk.graph.groups.entry(norm).or_default();
                } else if let Some(user) = map::user(&entry, mapping) {
                    users.push((norm, user));
                }
            }
            self.emit(users, mapping, out).await?;
            progress(Progress::UsersRead(out.count()));
        }
        for (group, members) in raw_members {
            let mut m = Members::default();
            for member in members {
                let norm = dn::normalize(&member);
                if walk.graph.groups.contains_key(&norm) {
                    m.groups.insert(norm);
                } else if out.reached(&norm) {
                    m.users.insert(norm);
                }
            }
            walk.graph.groups.insert(group, m);
        }
        Ok(walk)
    }

    /// Active Directory's in-chain matching rule: one paged search per
    /// selected group returns its users at any depth.
    async fn walk_in_chain(
        &mut self,
        selected: &[GroupEntry],
        user_filter: &str,
        mapping: &Mapping,
        progress: &mut dyn FnMut(Progress),
        out: &mut Emitter,
    ) -> Result<Walk, SourceError> {
        let mut walk = Walk::default();
        let attrs = map::entry_attributes(mapping, &self.member_request(mapping, 0));
        let base = self.naming_context.clone();
        for g in selected {
            let filter = format!(
                "(&{}{}(memberOf:{IN_CHAIN}:={}))",
                mapping.user_object_filter,
                user_filter,
                ldap_escape(&g.dn)
            );
            let found = self
                .conn
                .search(
                    "the in-chain search of a group's members",
                    &base,
                    Scope::Subtree,
                    &filter,
                    &attrs,
                )
                .await?;
            let mut members = Members::default();
            let mut users = Vec::new();
            for entry in found {
                if let Some(user) = map::user(&entry, mapping) {
                    let norm = dn::normalize(&entry.dn);
                    members.users.insert(norm.clone());
                    users.push((norm, user));
                }
            }
            walk.graph.groups.insert(g.norm.clone(), members);
            self.emit(users, mapping, out).await?;
            progress(Progress::UsersRead(out.count()));
        }
        Ok(walk)
    }

    /// The selected groups (normalized DNs) above `dn`, following the
    /// groups that list it as a member, upwards (cycles end).
    pub(super) async fn selected_ancestors(
        &mut self,
        entry_dn: &str,
        selected: &BTreeSet<String>,
        mapping: &Mapping,
        nested: bool,
    ) -> Result<BTreeSet<String>, SourceError> {
        let mut found = BTreeSet::new();
        let mut seen = BTreeSet::from([dn::normalize(entry_dn)]);
        let mut frontier = vec![entry_dn.to_owned()];
        let base = self.naming_context.clone();
        let mut depth = 0;
        while !frontier.is_empty() {
            depth += 1;
            let mut next = Vec::new();
            for child in frontier {
                let filter = format!(
                    "(&(objectClass={})({}={}))",
                    ldap_escape(&mapping.group_object_class),
                    mapping.member_attribute,
                    ldap_escape(&child)
                );
                let parents = self
                    .conn
                    .search(
                        "the search for a changed entry's groups",
                        &base,
                        Scope::Subtree,
                        &filter,
                        &["1.1".to_owned()],
                    )
                    .await?;
                for p in parents {
                    let norm = dn::normalize(&p.dn);
                    if selected.contains(&norm) {
                        found.insert(norm.clone());
                    }
                    if seen.insert(norm) {
                        next.push(p.dn);
                    }
                }
            }
            if !nested || depth > 100 {
                break;
            }
            frontier = next;
        }
        Ok(found)
    }
}
