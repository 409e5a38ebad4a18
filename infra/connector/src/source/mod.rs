//! Reading the directory over LDAP: the connection (TLS, bind, timeouts,
//! reconnection), paged searches, range retrieval of large member lists,
//! nested groups, change markers and the attribute mapping.
//!
//! A full read hands the users in scope on as it finds them, a batch at a
//! time ([`Sink`]), and returns the groups at the end: it does not hold the
//! whole directory.
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
mod emit;
pub mod expand;
mod map;
mod read;
mod walk;

use ldap3::SearchEntry;

use config::{ChangeTracking, Mapping};
pub use config::{
    ConfigError, DirectoryConfig, DirectoryKind, MappingConfig, Password, ScopeConfig,
};
use connection::Connection;
pub use connection::ReadStats;
pub use emit::Sink;
use expand::Graph;

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
    /// The run that asked for the read ended before it (nothing reads on).
    #[error("the read was stopped: the run it was for ended")]
    Stopped,
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
    /// Whether the server keeps `entryCSN` (OpenLDAP): changes are then
    /// found by it rather than by `modifyTimestamp`.
    entry_csn: bool,
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
        let entry_csn = config.kind == DirectoryKind::Ldap
            && conn
                .read_entry(
                    "reading the naming context's entryCSN",
                    &naming_context,
                    &["entryCSN".to_owned()],
                    false,
                )
                .await?
                .is_some_and(|e| first(&e, "entryCSN").is_some());
        Ok(Self {
            conn,
            kind: config.kind,
            naming_context,
            entry_csn,
        })
    }

    /// The mapping in force on this server: the configuration over the
    /// kind's preset, with `modifyTimestamp` giving way to `entryCSN` where
    /// the server keeps it.
    fn mapping(&self, config: &MappingConfig) -> Result<Mapping, SourceError> {
        let mut m = config.resolve(self.kind)?;
        match config.changes {
            None if m.changes == ChangeTracking::ModifyTimestamp && self.entry_csn => {
                m.changes = ChangeTracking::EntryCsn;
            }
            Some(ChangeTracking::EntryCsn) if !self.entry_csn => {
                return Err(ConfigError::new(
                    "mapping.changes",
                    "this server keeps no entryCSN: use \"modify_timestamp\"",
                )
                .into());
            }
            _ => {}
        }
        Ok(m)
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

/// The later of two generalized times or two `entryCSN`s (each of one
/// format: text order is time order).
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
