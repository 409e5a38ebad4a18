//! Test data in a directory server: entries, users, organizational units
//! a test owns, and what they were populated with.

use super::*;

/// A stable id as the connector renders it, and where the entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    /// `objectGUID` in its canonical text form, or `entryUUID`.
    pub external_id: String,
}

/// A user to add; `name` must be unique in the server (it becomes the login
/// name, `cn` and the mail's local part).
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub phone: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    /// The manager's DN.
    pub manager: Option<String>,
    /// The value of [`DirectoryServer::custom_attribute`].
    pub custom: Option<String>,
    /// Created disabled.
    pub disabled: bool,
}

impl UserSpec {
    /// A user with every mapped attribute filled from `name`.
    pub fn full(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            given_name: Some(format!("Given {name}")),
            family_name: Some(format!("Family {name}")),
            display_name: Some(format!("Display {name}")),
            mail: Some(format!("{name}@example.test")),
            phone: Some("+1 555 0100".into()),
            employee_number: Some(format!("E-{name}")),
            department: Some("Engineering".into()),
            manager: None,
            custom: Some(format!("custom-{name}")),
            disabled: false,
        }
    }

    /// A user with only the login name and the mail.
    pub fn minimal(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            mail: Some(format!("{name}@example.test")),
            family_name: Some(name.to_owned()),
            ..Self::default()
        }
    }
}

/// The canonical text form of an Active Directory `objectGUID`: the
/// connector's own rendering, so the tests expect what it produces.
pub use user_sync_connector::source::dn::guid_text;

fn attrs(pairs: Vec<(&str, Vec<String>)>) -> Vec<(String, HashSet<String>)> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.into_iter().collect()))
        .collect()
}

fn opt(v: &Option<String>) -> Vec<String> {
    v.iter().cloned().collect()
}

/// The first RDN value of a DN (`CN=x,OU=…` → `x`).
pub fn rdn_value(dn: &str) -> &str {
    let first = dn.split(',').next().unwrap_or(dn);
    first.split_once('=').map_or(first, |(_, v)| v)
}

impl DirectoryServer {
    /// A bound LDAPS connection for the administrator.
    pub async fn connect(&self) -> Ldap {
        self.try_connect()
            .await
            .unwrap_or_else(|e| panic!("administrator bind to {}: {e}", self.ldaps_url))
    }

    pub(super) async fn try_connect(&self) -> Result<Ldap, String> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(10))
            .set_config(tls_config(&self.ca_file)?);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.ldaps_url)
            .await
            .map_err(|e| e.to_string())?;
        ldap3::drive!(conn);
        ldap.simple_bind(&self.bind_dn, &self.bind_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| e.to_string())?;
        Ok(ldap)
    }

    /// The DNS domain Active Directory's `userPrincipalName`s end with.
    pub fn upn_suffix(&self) -> &'static str {
        "usersync.test"
    }

    /// A fresh organizational unit under the base, `OU=<prefix>-<random>`.
    pub async fn new_ou(&self, prefix: &str) -> TestOu<'_> {
        self.new_ou_under(&self.base_dn, prefix).await
    }

    /// A fresh organizational unit under `parent`.
    pub async fn new_ou_under(&self, parent: &str, prefix: &str) -> TestOu<'_> {
        let name = format!("{prefix}-{}", random_hex(4));
        let dn = format!("ou={name},{parent}");
        let mut ldap = self.connect().await;
        ldap.add(
            &dn,
            vec![
                ("objectClass", HashSet::from(["organizationalUnit"])),
                ("ou", HashSet::from([name.as_str()])),
            ],
        )
        .await
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("add {dn}: {e}"));
        let _ignored = ldap.unbind().await;
        TestOu {
            server: self,
            dn,
            name,
        }
    }

    /// The stable id of the entry at `dn`, as the connector renders it.
    pub async fn external_id(&self, ldap: &mut Ldap, dn: &str) -> String {
        let attr = match self.kind {
            DirectoryKind::ActiveDirectory => "objectGUID",
            DirectoryKind::OpenLdap => "entryUUID",
        };
        let (entries, _) = ldap
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("read {dn}: {e}"));
        let entry = SearchEntry::construct(
            entries
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{dn} not found")),
        );
        match self.kind {
            DirectoryKind::ActiveDirectory => entry
                .bin_attrs
                .get(attr)
                .and_then(|v| v.first())
                .and_then(|b| guid_text(b))
                .unwrap_or_else(|| panic!("{dn} has no objectGUID")),
            DirectoryKind::OpenLdap => entry
                .attrs
                .get(attr)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_else(|| panic!("{dn} has no entryUUID")),
        }
    }

    /// The attributes of a user entry.
    fn user_attributes(&self, spec: &UserSpec) -> Vec<(String, HashSet<String>)> {
        let custom = (self.custom_attribute, opt(&spec.custom));
        match self.kind {
            DirectoryKind::ActiveDirectory => attrs(vec![
                ("objectClass", vec!["user".into()]),
                ("cn", vec![spec.name.clone()]),
                ("sAMAccountName", vec![sam_account_name(&spec.name)]),
                (
                    "userPrincipalName",
                    vec![format!("{}@{}", spec.name, self.upn_suffix())],
                ),
                (
                    "userAccountControl",
                    vec![if spec.disabled { "546" } else { "544" }.into()],
                ),
                ("givenName", opt(&spec.given_name)),
                ("sn", opt(&spec.family_name)),
                ("displayName", opt(&spec.display_name)),
                ("mail", opt(&spec.mail)),
                ("telephoneNumber", opt(&spec.phone)),
                ("employeeNumber", opt(&spec.employee_number)),
                ("department", opt(&spec.department)),
                ("manager", opt(&spec.manager)),
                custom,
            ]),
            DirectoryKind::OpenLdap => attrs(vec![
                (
                    "objectClass",
                    vec!["inetOrgPerson".into(), "userSyncTestAccount".into()],
                ),
                ("cn", vec![spec.name.clone()]),
                ("uid", vec![spec.name.clone()]),
                (
                    "sn",
                    vec![
                        spec.family_name
                            .clone()
                            .unwrap_or_else(|| spec.name.clone()),
                    ],
                ),
                ("givenName", opt(&spec.given_name)),
                ("displayName", opt(&spec.display_name)),
                ("mail", opt(&spec.mail)),
                ("telephoneNumber", opt(&spec.phone)),
                ("employeeNumber", opt(&spec.employee_number)),
                ("departmentNumber", opt(&spec.department)),
                ("manager", opt(&spec.manager)),
                (
                    "nsAccountLock",
                    if spec.disabled {
                        vec!["TRUE".into()]
                    } else {
                        vec![]
                    },
                ),
                custom,
            ]),
        }
    }
}

/// `sAMAccountName` is at most 20 characters: long names keep their start
/// and a hash of the rest.
fn sam_account_name(name: &str) -> String {
    if name.len() <= 20 {
        return name.to_owned();
    }
    let mut h: u32 = 2166136261;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(16777619);
    }
    let start: String = name.chars().take(11).collect();
    format!("{start}-{h:08x}")
}

/// An organizational unit that one test owns.
#[derive(Debug)]
pub struct TestOu<'a> {
    pub server: &'a DirectoryServer,
    pub dn: String,
    /// The OU's own name (unique; a good prefix for entry names).
    pub name: String,
}

impl TestOu<'_> {
    /// A child OU (a place to move entries to).
    pub async fn child_ou(&self, prefix: &str) -> TestOu<'_> {
        self.server.new_ou_under(&self.dn, prefix).await
    }

    /// Adds a user in this OU.
    pub async fn add_user(&self, spec: &UserSpec) -> Entry {
        let mut ldap = self.server.connect().await;
        let entry = self.add_user_with(&mut ldap, spec).await;
        let _ignored = ldap.unbind().await;
        entry
    }

    async fn add_user_with(&self, ldap: &mut Ldap, spec: &UserSpec) -> Entry {
        let dn = format!("cn={},{}", spec.name, self.dn);
        ldap.add(&dn, self.server.user_attributes(spec))
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("add user {dn}: {e}"));
        let external_id = self.server.external_id(ldap, &dn).await;
        Entry { dn, external_id }
    }

    /// Adds a group in this OU with these member DNs (users or groups).
    pub async fn add_group(&self, name: &str, members: &[String]) -> Entry {
        let mut ldap = self.server.connect().await;
        let entry = self.add_group_with(&mut ldap, name, members).await;
        let _ignored = ldap.unbind().await;
        entry
    }

    async fn add_group_with(&self, ldap: &mut Ldap, name: &str, members: &[String]) -> Entry {
        let dn = format!("cn={name},{}", self.dn);
        let mut member: Vec<String> = members.to_vec();
        let attributes = match self.server.kind {
            DirectoryKind::ActiveDirectory => attrs(vec![
                ("objectClass", vec!["group".into()]),
                ("cn", vec![name.into()]),
                ("sAMAccountName", vec![sam_account_name(name)]),
                ("member", member),
            ]),
            DirectoryKind::OpenLdap => {
                // groupOfNames needs a member: an empty group names its OU,
                // which is neither a user nor a group.
                if member.is_empty() {
                    member.push(self.dn.clone());
                }
                attrs(vec![
                    ("objectClass", vec!["groupOfNames".into()]),
                    ("cn", vec![name.into()]),
                    ("member", member),
                ])
            }
        };
        ldap.add(&dn, attributes)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("add group {dn}: {e}"));
        let external_id = self.server.external_id(ldap, &dn).await;
        Entry { dn, external_id }
    }

    async fn modify(&self, dn: &str, mods: Vec<Mod<String>>) {
        let mut ldap = self.server.connect().await;
        ldap.modify(dn, mods)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("modify {dn}: {e}"));
        let _ignored = ldap.unbind().await;
    }

    /// Adds members (DNs) to a group.
    pub async fn add_members(&self, group_dn: &str, members: &[String]) {
        let values: HashSet<String> = members.iter().cloned().collect();
        self.modify(group_dn, vec![Mod::Add("member".into(), values)])
            .await;
    }

    /// Removes members (DNs) from a group. On OpenLDAP a group left empty
    /// names its OU instead (groupOfNames needs a member).
    pub async fn remove_members(&self, group_dn: &str, members: &[String]) {
        let values: HashSet<String> = members.iter().cloned().collect();
        if self.server.kind == DirectoryKind::ActiveDirectory {
            self.modify(group_dn, vec![Mod::Delete("member".into(), values)])
                .await;
            return;
        }
        let mut ldap = self.server.connect().await;
        let (entries, _) = ldap
            .search(group_dn, Scope::Base, "(objectClass=*)", vec!["member"])
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("read {group_dn}: {e}"));
        let _ignored = ldap.unbind().await;
        let current = entries
            .into_iter()
            .next()
            .map(|e| {
                SearchEntry::construct(e)
                    .attrs
                    .remove("member")
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let gone: HashSet<String> = values.iter().map(|v| v.to_lowercase()).collect();
        let mut left: HashSet<String> = current
            .into_iter()
            .filter(|m| !gone.contains(&m.to_lowercase()))
            .collect();
        if left.is_empty() {
            left.insert(self.dn.clone());
        }
        self.modify(group_dn, vec![Mod::Replace("member".into(), left)])
            .await;
    }

    /// Replaces an attribute's values (none: removes it).
    pub async fn set_attribute(&self, dn: &str, attribute: &str, values: &[&str]) {
        let values: HashSet<String> = values.iter().map(|v| (*v).to_owned()).collect();
        self.modify(dn, vec![Mod::Replace(attribute.to_owned(), values)])
            .await;
    }

    /// Renames an entry (a new `cn`, same parent); its new DN.
    pub async fn rename(&self, dn: &str, new_cn: &str) -> String {
        let parent = dn.split_once(',').map_or("", |(_, p)| p);
        let mut ldap = self.server.connect().await;
        ldap.modifydn(dn, &format!("cn={new_cn}"), true, None)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("rename {dn}: {e}"));
        self.wait_for_references(&mut ldap, dn).await;
        let _ignored = ldap.unbind().await;
        format!("cn={new_cn},{parent}")
    }

    /// Moves an entry under another parent (same RDN); its new DN.
    pub async fn move_to(&self, dn: &str, new_parent: &str) -> String {
        let rdn = dn.split_once(',').map_or(dn, |(r, _)| r);
        let mut ldap = self.server.connect().await;
        ldap.modifydn(dn, rdn, true, Some(new_parent))
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("move {dn}: {e}"));
        self.wait_for_references(&mut ldap, dn).await;
        let _ignored = ldap.unbind().await;
        format!("{rdn},{new_parent}")
    }

    /// Waits until no group lists `old_dn` as a member any more: OpenLDAP's
    /// referential integrity overlay updates member values after a rename
    /// or a move has been answered (Active Directory does it at once).
    async fn wait_for_references(&self, ldap: &mut Ldap, old_dn: &str) {
        let filter = format!("(member={})", ldap3::ldap_escape(old_dn));
        let start = Instant::now();
        loop {
            let (entries, _) = ldap
                .search(&self.server.base_dn, Scope::Subtree, &filter, vec!["1.1"])
                .await
                .and_then(|r| r.success())
                .unwrap_or_else(|e| panic!("search {filter}: {e}"));
            if entries.is_empty() {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("groups still name {old_dn} 10 s after it was renamed or moved");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Disables an account: Active Directory sets `userAccountControl`'s
    /// ACCOUNTDISABLE bit (546); OpenLDAP sets `nsAccountLock: TRUE`.
    pub async fn disable(&self, dn: &str) {
        match self.server.kind {
            DirectoryKind::ActiveDirectory => {
                self.set_attribute(dn, "userAccountControl", &["546"]).await
            }
            DirectoryKind::OpenLdap => self.set_attribute(dn, "nsAccountLock", &["TRUE"]).await,
        }
    }

    /// Enables an account again.
    pub async fn enable(&self, dn: &str) {
        match self.server.kind {
            DirectoryKind::ActiveDirectory => {
                self.set_attribute(dn, "userAccountControl", &["544"]).await
            }
            DirectoryKind::OpenLdap => self.set_attribute(dn, "nsAccountLock", &[]).await,
        }
    }

    /// Deletes an entry.
    pub async fn delete(&self, dn: &str) {
        let mut ldap = self.server.connect().await;
        ldap.delete(dn)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("delete {dn}: {e}"));
        let _ignored = ldap.unbind().await;
    }

    /// Loads `users` users (`<ou name>-u00000`, … with every mapped
    /// attribute) and `groups` groups (`<ou name>-g000`, …; user i is a
    /// member of group i mod `groups`) into this OU, over several
    /// connections at once. Users first, in the order of their names.
    pub async fn populate(&self, users: usize, groups: usize) -> Populated {
        const CONNECTIONS: usize = 6;
        let names: Vec<String> = (0..users)
            .map(|i| format!("{}-u{i:05}", self.name))
            .collect();
        let mut tasks = Vec::new();
        for worker in 0..CONNECTIONS {
            let mine: Vec<(usize, String)> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| i % CONNECTIONS == worker)
                .map(|(i, n)| (i, n.clone()))
                .collect();
            tasks.push(async move {
                let mut ldap = self.server.connect().await;
                let mut out = Vec::with_capacity(mine.len());
                for (i, name) in mine {
                    let entry = self.add_user_with(&mut ldap, &UserSpec::full(&name)).await;
                    out.push((i, entry));
                }
                let _ignored = ldap.unbind().await;
                out
            });
        }
        let mut added: Vec<(usize, Entry)> = futures::future::join_all(tasks).await.concat();
        added.sort_by_key(|(i, _)| *i);
        let users: Vec<Entry> = added.into_iter().map(|(_, e)| e).collect();
        let mut ldap = self.server.connect().await;
        let mut group_entries = Vec::with_capacity(groups);
        for g in 0..groups {
            let members: Vec<String> = users
                .iter()
                .enumerate()
                .filter(|(i, _)| i % groups == g)
                .map(|(_, u)| u.dn.clone())
                .collect();
            let name = format!("{}-g{g:03}", self.name);
            group_entries.push(self.add_group_with(&mut ldap, &name, &members).await);
        }
        let _ignored = ldap.unbind().await;
        Populated {
            users,
            groups: group_entries,
        }
    }
}

/// What [`TestOu::populate`] added.
#[derive(Debug, Clone)]
pub struct Populated {
    pub users: Vec<Entry>,
    pub groups: Vec<Entry>,
}
