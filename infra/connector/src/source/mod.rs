//! Reading the directory over LDAP: the connection (TLS, bind, timeouts,
//! reconnection), paged searches, range retrieval of large member lists,
//! nested groups, change markers and the attribute mapping.
//!
//! A read walks the scope from the selected groups: their member DNs are
//! looked up in batches of [`LOOKUP_BATCH`] (one paged search each, on the
//! DN attribute), members that are groups are expanded in turn (cycles end:
//! each DN is looked up once), members that are users are mapped. Users in
//! scope are the users reached, narrowed by `scope.base_dns` and
//! `scope.user_filter`. Disabled users are read like the others (with
//! `active = false`).

pub mod config;
mod connection;
pub mod dn;
pub mod expand;
mod map;

use std::collections::{BTreeMap, BTreeSet};

use ldap3::{Scope, SearchEntry, ldap_escape};

use crate::model::{ChangeMarker, Changes, Progress, Snapshot, SourceGroup, SourceUser};
use config::{ChangeTracking, Mapping};
pub use config::{
    ConfigError, DirectoryConfig, DirectoryKind, MappingConfig, Password, ScopeConfig,
};
use connection::Connection;
pub use connection::ReadStats;
use expand::{Graph, Members};

/// How many DNs one lookup search asks for (`(|(dn=…)(dn=…)…)`).
pub const LOOKUP_BATCH: usize = 100;
/// Beyond this many changed entries, an incremental read says "do a full
/// run" (one full walk is then cheaper than walking up from each change).
pub const MAX_CHANGES: usize = 1000;
/// The OID of LDAP_MATCHING_RULE_IN_CHAIN (Active Directory).
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// Why a read failed, in terms an admin can act on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error(
        "TLS with {url} failed: {message} (is directory.ca_file the CA that signed the directory's certificate, and is the URL's host a name the certificate carries?)"
    )]
    Tls { url: String, message: String },
    #[error(
        "the directory refused the bind of {bind_dn}: {message} (check directory.bind_dn and the password)"
    )]
    Bind { bind_dn: String, message: String },
    #[error("{key}: {dn} does not exist in the directory")]
    NoSuchEntry { key: String, dn: String },
    #[error("{key}: {dn} is not a group the mapping recognizes (mapping.group_object_class)")]
    NotAGroup { key: String, dn: String },
    #[error("{operation} timed out (directory.timeout_seconds) and retries did not help")]
    Timeout { operation: String },
    #[error("the connection to the directory dropped during {operation}: {message}")]
    Connection { operation: String, message: String },
    #[error("the directory refused {operation}: result code {code} {message}")]
    Directory {
        operation: String,
        code: u32,
        message: String,
    },
}

impl SourceError {
    /// A new connection may help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Timeout { .. } | Self::Connection { .. }
        )
    }
}

/// A connection to the directory that reads the scope.
pub struct Source {
    conn: Connection,
    kind: DirectoryKind,
    /// Where searches start.
    naming_context: String,
}

/// A group as read.
#[derive(Debug, Clone)]
struct GroupEntry {
    dn: String,
    norm: String,
    external_id: String,
    name: String,
    /// Member DNs as the directory gives them.
    members: Vec<String>,
    modified: Option<String>,
}

/// What walking the scope found.
#[derive(Debug, Default)]
struct Walk {
    graph: Graph,
    /// Normalized DN → the user (manager still a DN).
    users: BTreeMap<String, map::RawUser>,
    groups_read: usize,
    latest_modify: Option<String>,
}

impl Source {
    /// Connects and binds, the password from `password_env` or
    /// `password_file`.
    pub async fn connect(config: &DirectoryConfig) -> Result<Self, SourceError> {
        config.validate()?;
        let password = config.password()?;
        Self::connect_with_password(config, password).await
    }

    /// Connects and binds with this password.
    pub async fn connect_with_password(
        config: &DirectoryConfig,
        password: Password,
    ) -> Result<Self, SourceError> {
        let mut conn = Connection::open(config, password).await?;
        let naming_context = match &config.base_dn {
            Some(base) => base.clone(),
            None => {
                let root = root_dse(&mut conn).await?;
                first(&root, "defaultNamingContext")
                    .or_else(|| first(&root, "namingContexts"))
                    .ok_or_else(|| SourceError::NoSuchEntry {
                        key: "directory.base_dn".into(),
                        dn: "(the server names no naming context; set directory.base_dn)".into(),
                    })?
            }
        };
        Ok(Self {
            conn,
            kind: config.kind,
            naming_context,
        })
    }

    /// What the reads so far cost.
    pub fn stats(&self) -> ReadStats {
        self.conn.stats()
    }

    /// How the member attribute is asked for, from value `low` on.
    fn member_request(&self, mapping: &Mapping, low: u64) -> String {
        member_request(
            &mapping.member_attribute,
            self.conn.member_range_size(),
            low,
        )
    }

    /// Where searches start (`directory.base_dn` or the server's).
    pub fn naming_context(&self) -> &str {
        &self.naming_context
    }

    /// Reads the whole scope.
    pub async fn read_full(
        &mut self,
        scope: &ScopeConfig,
        mapping: &MappingConfig,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Snapshot, SourceError> {
        scope.validate(self.kind)?;
        let mapping = mapping.resolve(self.kind)?;
        // Taken first: a change made during the read is seen again next time.
        let start_marker = self.usn_marker(&mapping).await?;
        let bases = self.check_bases(scope).await?;
        let selected = self.selected_groups(scope, &mapping).await?;
        progress(Progress::GroupsRead(selected.len()));
        let walk = self.walk(&selected, scope, &mapping, progress).await?;
        let (users, groups) = self
            .finish(&selected, walk.graph, walk.users, &bases, scope, &mapping)
            .await?;
        let marker = match mapping.changes {
            ChangeTracking::Usn => start_marker,
            ChangeTracking::ModifyTimestamp => latest(
                walk.latest_modify,
                selected.iter().filter_map(|g| g.modified.clone()).max(),
            )
            .map(|timestamp| ChangeMarker::ModifyTimestamp { timestamp }),
        };
        Ok(Snapshot {
            users,
            groups,
            marker,
        })
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
        let mapping = mapping.resolve(self.kind)?;
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
        let attrs = vec!["objectClass".to_owned(), "modifyTimestamp".to_owned()];
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
        let mut marker = new_marker;
        if let Some(ChangeMarker::ModifyTimestamp { timestamp }) = &marker {
            let newest = changed
                .iter()
                .filter_map(|e| map::first_text(e, "modifyTimestamp"))
                .max();
            marker = latest(Some(timestamp.clone()), newest)
                .map(|timestamp| ChangeMarker::ModifyTimestamp { timestamp });
        }
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
        let mut walk = self.walk(&affected, scope, &mapping, progress).await?;
        // Changed users in scope that the affected groups did not reach.
        let missing: Vec<String> = changed_users
            .into_iter()
            .filter(|d| !walk.users.contains_key(&dn::normalize(d)))
            .collect();
        let attrs = map::entry_attributes(&mapping, &self.member_request(&mapping, 0));
        for batch in missing.chunks(LOOKUP_BATCH) {
            for entry in self.lookup(batch, &mapping, scope, &attrs).await? {
                if !map::has_class(&entry, &mapping.group_object_class)
                    && let Some(user) = map::user(&entry, &mapping)
                {
                    walk.users.insert(dn::normalize(&entry.dn), user);
                }
            }
        }
        let (users, groups) = self
            .finish(&affected, walk.graph, walk.users, &bases, scope, &mapping)
            .await?;
        Ok(Some(Changes {
            users,
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

    /// The normalized `scope.base_dns`, each checked to exist.
    async fn check_bases(&mut self, scope: &ScopeConfig) -> Result<Vec<String>, SourceError> {
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
    async fn selected_groups(
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
            modified: map::first_text(&entry, "modifyTimestamp"),
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
    async fn lookup(
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
    async fn walk(
        &mut self,
        selected: &[GroupEntry],
        scope: &ScopeConfig,
        mapping: &Mapping,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Walk, SourceError> {
        let mut walk = Walk::default();
        if scope.in_chain {
            return self.walk_in_chain(selected, scope, mapping, progress).await;
        }
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
            for entry in self.lookup(&batch, mapping, scope, &attrs).await? {
                let norm = dn::normalize(&entry.dn);
                walk.latest_modify = latest(
                    walk.latest_modify.take(),
                    map::first_text(&entry, "modifyTimestamp"),
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
                    walk.users.insert(norm, user);
                }
            }
            progress(Progress::UsersRead(walk.users.len()));
        }
        for (group, members) in raw_members {
            let mut m = Members::default();
            for member in members {
                let norm = dn::normalize(&member);
                if walk.graph.groups.contains_key(&norm) {
                    m.groups.insert(norm);
                } else if walk.users.contains_key(&norm) {
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
        scope: &ScopeConfig,
        mapping: &Mapping,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Walk, SourceError> {
        let mut walk = Walk::default();
        let attrs = map::entry_attributes(mapping, &self.member_request(mapping, 0));
        let base = self.naming_context.clone();
        for g in selected {
            let filter = format!(
                "(&{}{}(memberOf:{IN_CHAIN}:={}))",
                mapping.user_object_filter,
                scope.user_filter.as_deref().unwrap_or(""),
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
            for entry in found {
                if let Some(user) = map::user(&entry, mapping) {
                    let norm = dn::normalize(&entry.dn);
                    members.users.insert(norm.clone());
                    walk.users.insert(norm, user);
                }
            }
            walk.graph.groups.insert(g.norm.clone(), members);
            progress(Progress::UsersRead(walk.users.len()));
        }
        Ok(walk)
    }

    /// The selected groups (normalized DNs) above `dn`, following the
    /// groups that list it as a member, upwards (cycles end).
    async fn selected_ancestors(
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

    /// Users in scope and the selected groups with their members; managers
    /// resolved to external ids.
    async fn finish(
        &mut self,
        selected: &[GroupEntry],
        graph: Graph,
        users: BTreeMap<String, map::RawUser>,
        bases: &[String],
        scope: &ScopeConfig,
        mapping: &Mapping,
    ) -> Result<(Vec<SourceUser>, Vec<SourceGroup>), SourceError> {
        let in_base = |norm: &str| bases.is_empty() || bases.iter().any(|b| dn::is_under(norm, b));
        let users: BTreeMap<String, map::RawUser> = users
            .into_iter()
            .filter(|(norm, _)| in_base(norm))
            .collect();
        let mut groups = Vec::with_capacity(selected.len());
        for g in selected {
            let mut members: Vec<String> = graph
                .users_of(&g.norm, scope.nested)
                .iter()
                .filter_map(|u| users.get(u).map(|r| r.user.external_id.clone()))
                .collect();
            members.sort();
            members.dedup();
            groups.push(SourceGroup {
                external_id: g.external_id.clone(),
                dn: g.dn.clone(),
                name: g.name.clone(),
                members,
            });
        }
        groups.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        // Managers outside the users read: looked up by DN.
        let mut manager_ids: BTreeMap<String, String> = users
            .iter()
            .map(|(norm, r)| (norm.clone(), r.user.external_id.clone()))
            .collect();
        let unknown: Vec<String> = users
            .values()
            .filter_map(|r| r.manager_dn.clone())
            .filter(|m| !manager_ids.contains_key(&dn::normalize(m)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let id_attr = vec![mapping.external_id.clone()];
        let base = self.naming_context.clone();
        for batch in unknown.chunks(LOOKUP_BATCH) {
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
            for entry in found {
                if let Some(id) = map::external_id(&entry, mapping) {
                    manager_ids.insert(dn::normalize(&entry.dn), id);
                }
            }
        }
        let mut out: Vec<SourceUser> = users
            .into_values()
            .map(|r| {
                let mut user = r.user;
                user.enterprise.manager = r
                    .manager_dn
                    .and_then(|m| manager_ids.get(&dn::normalize(&m)).cloned());
                user
            })
            .collect();
        out.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        out.dedup_by(|a, b| a.external_id == b.external_id);
        Ok((out, groups))
    }

    /// The number of entries per page in force.
    pub fn page_size(&self) -> u32 {
        self.conn.page_size()
    }
}

/// The rootDSE's attributes.
async fn root_dse(conn: &mut Connection) -> Result<SearchEntry, SourceError> {
    let attrs: Vec<String> = [
        "defaultNamingContext",
        "namingContexts",
        "highestCommittedUSN",
        "dsServiceName",
        "dnsHostName",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    conn.read_entry("reading the rootDSE", "", &attrs, false)
        .await?
        .ok_or_else(|| SourceError::NoSuchEntry {
            key: "directory.url".into(),
            dn: "(the rootDSE)".into(),
        })
}

fn first(entry: &SearchEntry, attribute: &str) -> Option<String> {
    map::first_text(entry, attribute)
}

/// The later of two generalized times (same format: text order is time order).
fn latest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b > a { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The member attribute as asked for from value `low` on: in ranges of
/// `range_size` when set, else whole (and from `low` to the end once the
/// server has answered with a range).
fn member_request(attribute: &str, range_size: Option<u32>, low: u64) -> String {
    match range_size {
        Some(n) => format!(
            "{attribute};range={low}-{}",
            low.saturating_add(u64::from(n)).saturating_sub(1)
        ),
        None if low == 0 => attribute.to_owned(),
        None => format!("{attribute};range={low}-*"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ranges_are_asked_for_as_configured() {
        assert_eq!(member_request("member", None, 0), "member");
        assert_eq!(member_request("member", None, 1500), "member;range=1500-*");
        assert_eq!(member_request("member", Some(500), 0), "member;range=0-499");
        assert_eq!(
            member_request("member", Some(500), 500),
            "member;range=500-999"
        );
    }

    #[test]
    fn the_later_generalized_time_wins() {
        let t = |s: &str| Some(s.to_owned());
        assert_eq!(
            latest(t("20260101000000Z"), t("20251231235959Z")),
            t("20260101000000Z")
        );
        assert_eq!(latest(None, t("20251231235959Z")), t("20251231235959Z"));
        assert_eq!(latest(None, None), None);
    }
}
