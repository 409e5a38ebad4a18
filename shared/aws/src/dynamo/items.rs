//! Item mappings, written once and used by the writers and by the stream
//! reader (the evaluator parses stream images with the same types).

use serde::{Deserialize, Serialize};
use user_sync_core::directory::{AccountLink, DirectoryUser};
use user_sync_core::ids::{GroupId, OrgId, RuleId, TemplateId, UserId};
use user_sync_core::rules::SuspendReason;
use user_sync_core::state::{Failure, FailureClass};

/// Sort keys (and their prefixes) of DirectoryTable.
pub mod sk {
    pub const ORG: &str = "ORG";
    pub const TOKEN: &str = "TOKEN";
    pub const USER: &str = "USER";
    pub const USERNAME: &str = "USERNAME";
    /// In a userName's partition: a deleted user that had the name
    /// (`RETIRED#{user}`), for a returning person to be found by.
    pub const RETIRED: &str = "RETIRED#";
    pub const GROUP: &str = "GROUP";
    pub const MEMBER: &str = "MEMBER#";
    pub const MEMBER_OF: &str = "MEMBEROF#";
    pub const RULE: &str = "RULE#";
    pub const SYNC: &str = "SYNC";
    pub const ORDER: &str = "ORDER";
    pub const TASK: &str = "TASK#";
    pub const DESIRED: &str = "DESIRED";
    pub const STATUS: &str = "STATUS";
    pub const EMAIL: &str = "EMAIL#";
    pub const MAIL_STATUS: &str = "MAILSTATUS";
    pub const TEMPLATE: &str = "TEMPLATE#";
    pub const TEMPLATE_COUNT: &str = "COUNT";
    /// In `{org}#DOMAINS`: one domain (`DOMAIN#{domain}`).
    pub const DOMAIN: &str = "DOMAIN#";
    /// The one item of a domain's global claim.
    pub const CLAIM: &str = "CLAIM";
    /// In `{org}#SSO`: the organization's identity provider.
    pub const SSO: &str = "SSO";
    /// The one item of an (issuer, client id) pair's index entry.
    pub const SSO_CLIENT: &str = "SSOCLIENT";
    /// In a userName's or an externalId's partition: the deleted users a
    /// returning person with that key could take over (`users`, a string
    /// set; the item without it when there are none). In an organization's
    /// partition: the mark that all its deleted users are filed.
    pub const RETURNABLE: &str = "RETURNABLE";
}

/// An externalId's partition (the returning-person index's items).
pub fn external_id_pk(org: &OrgId, external_id: &str) -> String {
    format!("{org}#EXTERNALID#{external_id}")
}

/// The partition of the index item of a returning-person key.
pub fn returnable_pk(org: &OrgId, key: &user_sync_core::directory::ReturningKey) -> String {
    use user_sync_core::directory::ReturningKey;
    match key {
        ReturningKey::ExternalId(x) => external_id_pk(org, x),
        ReturningKey::UserName(name) => user_name_pk(org, name),
    }
}

/// An organization's identity provider configuration.
pub fn sso_pk(org: &OrgId) -> String {
    format!("{org}#SSO")
}
/// The index entry of an (issuer, client id) pair: which organization it
/// signs in to. An issuer holds no `#`, so the pair splits one way only.
pub fn sso_client_pk(issuer: &str, client_id: &str) -> String {
    format!("SSOCLIENT#{issuer}#{client_id}")
}

/// An organization's identity provider; the configuration as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsoItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub doc: String,
}

/// An (issuer, client id) pair's index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsoClientItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
}

/// An organization's domains.
pub fn domains_pk(org: &OrgId) -> String {
    format!("{org}#DOMAINS")
}
/// The global claim of a domain: which organization holds it.
pub fn claim_pk(domain: &user_sync_core::domains::DomainName) -> String {
    format!("DOMAINCLAIM#{domain}")
}

/// One domain of an organization; the domain (its state included) as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub doc: String,
}

/// A domain's global claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub domain: String,
    pub at: String,
    #[serde(default)]
    pub by_ops: bool,
}

/// StateTable: an organization's count of one kind of request in one window
/// (sort key: the window's number).
pub fn rate_pk(org: &OrgId, scope: &str) -> String {
    format!("{org}#RATE#{scope}")
}
pub fn org_pk(org: &OrgId) -> String {
    format!("{org}#ORG")
}
pub fn token_pk(org: &OrgId, token_id: &str) -> String {
    format!("{org}#TOKEN#{token_id}")
}
pub fn user_pk(org: &OrgId, user: &UserId) -> String {
    format!("{org}#USER#{user}")
}
pub fn user_name_pk(org: &OrgId, user_name: &str) -> String {
    format!("{org}#USERNAME#{}", user_name.to_lowercase())
}
pub fn users_gsi(org: &OrgId) -> String {
    format!("{org}#USERS")
}
/// gsi2 key of a user with this externalId (compared exactly).
pub fn external_id_gsi(org: &OrgId, external_id: &str) -> String {
    format!("{org}#EXTID#{external_id}")
}
/// gsi3 key of a user with this email (compared ignoring case).
pub fn email_gsi(org: &OrgId, email: &str) -> String {
    format!("{org}#EMAIL#{}", email.to_lowercase())
}
/// gsi2 key of a group with this displayName (compared ignoring case).
pub fn group_name_gsi(org: &OrgId, display_name: &str) -> String {
    format!("{org}#GROUPNAME#{}", display_name.to_lowercase())
}
pub fn group_pk(org: &OrgId, group: &GroupId) -> String {
    format!("{org}#GROUP#{group}")
}
pub fn groups_gsi(org: &OrgId) -> String {
    format!("{org}#GROUPS")
}
pub fn tokens_gsi(org: &OrgId) -> String {
    format!("{org}#TOKENS")
}
pub fn config_pk(org: &OrgId) -> String {
    format!("{org}#CONFIG")
}
pub fn fan_out_pk(org: &OrgId) -> String {
    format!("{org}#FANOUT")
}
/// Welcome-email templates (outside `{org}#CONFIG`: the evaluator neither
/// reads nor is streamed them).
pub fn templates_pk(org: &OrgId) -> String {
    format!("{org}#TEMPLATES")
}
pub fn activity_pk(org: &OrgId) -> String {
    format!("{org}#ACTIVITY")
}
/// The partition of the `failures` index: every failed user of an org.
pub fn failures_pk(org: &OrgId) -> String {
    format!("{org}#FAILURES")
}
/// The `failures` index sort key of one failure, without the user:
/// `{class}#{product}#` (`#` and `%` in the product percent-encoded, so the
/// prefix of one product never matches another's).
pub fn failure_prefix(failure: &Failure) -> String {
    // the product of `out_of_licenses`, the domain of `unverified_domain`
    let subject = failure
        .product
        .as_deref()
        .or(failure.domain.as_deref())
        .unwrap_or("")
        .replace('%', "%25")
        .replace('#', "%23");
    format!("{}#{subject}#", failure.class.as_str())
}
/// Reads a `failures` sort key back: the failure and the user.
pub fn parse_failure_sk(sort: &str) -> Option<(Failure, &str)> {
    let (class, rest) = sort.split_once('#')?;
    let (subject, user) = rest.rsplit_once('#')?;
    let class: FailureClass =
        serde_json::from_value(serde_json::Value::String(class.to_owned())).ok()?;
    let subject = (!subject.is_empty()).then(|| subject.replace("%23", "#").replace("%25", "%"));
    let (product, domain) = if class == FailureClass::UnverifiedDomain {
        (None, subject)
    } else {
        (subject, None)
    };
    Some((
        Failure {
            class,
            product,
            domain,
        },
        user,
    ))
}

/// A directory user. `attributes` is the SCIM resource as JSON text (its keys
/// include schema URNs, which JSON keeps exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserItem {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub active: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub created: String,
    pub last_modified: String,
    pub version: u64,
    pub attributes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relinked_from: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relinked_to: Option<UserId>,
}

impl UserItem {
    pub fn new(org: &OrgId, u: &DirectoryUser, attributes: String) -> Self {
        Self {
            pk: user_pk(org, &u.id),
            sk: sk::USER.to_owned(),
            gsi1pk: users_gsi(org),
            gsi1sk: u.id.to_string(),
            gsi2pk: u
                .external_id
                .as_deref()
                .filter(|x| !x.is_empty())
                .map(|x| external_id_gsi(org, x)),
            gsi2sk: u
                .external_id
                .as_deref()
                .filter(|x| !x.is_empty())
                .map(|_| u.id.to_string()),
            gsi3pk: u
                .email
                .as_deref()
                .filter(|x| !x.is_empty())
                .map(|x| email_gsi(org, x)),
            gsi3sk: u
                .email
                .as_deref()
                .filter(|x| !x.is_empty())
                .map(|_| u.id.to_string()),
            org_id: org.clone(),
            user_id: u.id.clone(),
            user_name: u.user_name.clone(),
            external_id: u.external_id.clone(),
            active: u.active,
            deleted: u.deleted,
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            email: u.email.clone(),
            locale: u.locale.clone(),
            created: u.created.clone(),
            last_modified: u.last_modified.clone(),
            version: u.version,
            attributes,
            account_key: u.link.account_key.clone(),
            relinked_from: u.link.relinked_from.clone(),
            relinked_to: u.link.relinked_to.clone(),
        }
    }

    pub fn user(&self) -> DirectoryUser {
        DirectoryUser {
            id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            external_id: self.external_id.clone(),
            active: self.active,
            deleted: self.deleted,
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            email: self.email.clone(),
            locale: self.locale.clone(),
            created: self.created.clone(),
            last_modified: self.last_modified.clone(),
            version: self.version,
            link: AccountLink {
                account_key: self.account_key.clone(),
                relinked_from: self.relinked_from.clone(),
                relinked_to: self.relinked_to.clone(),
            },
        }
    }
}

/// Claims a userName (lowercased) for one user of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserNameItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub user_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupItem {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default)]
    pub gsi2pk: String,
    #[serde(default)]
    pub gsi2sk: String,
    pub org_id: OrgId,
    pub group_id: GroupId,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub created: String,
    pub last_modified: String,
    pub version: u64,
}

/// One side of a membership (`MEMBER#{user}` under the group, or
/// `MEMBEROF#{group}` under the user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub group_id: GroupId,
    pub user_id: UserId,
}

/// A rule; the rule itself is a JSON document, its group is an attribute so
/// stream readers see it in both images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub rule_id: RuleId,
    pub group_id: GroupId,
    pub rule: String,
    pub version: u64,
}

impl RuleItem {
    /// The rule, its priority as stored (the order item has the real one).
    pub fn rule(&self) -> Result<user_sync_core::rules::Rule, serde_json::Error> {
        serde_json::from_str(&self.rule)
    }
}

/// The rules' order (highest priority first) and the configuration version,
/// which grows with every rule write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    #[serde(default)]
    pub rule_ids: Vec<RuleId>,
    pub version: u64,
}

/// A welcome-email template (its variants are a JSON document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub template_id: TemplateId,
    pub name: String,
    pub variants: String,
    pub version: u64,
    pub updated_at: String,
    pub updated_by: String,
}

/// How many templates an organization has (kept by the writes that create
/// and delete them, so the cap holds under concurrent creates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateCountItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub template_count: u64,
}

/// A fan-out task (the task itself is a JSON document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FanOutItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub task_id: String,
    pub chunk: u64,
    pub done: bool,
    pub task: String,
    /// Epoch seconds: a finished task is kept a week, then expires (TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl FanOutItem {
    pub fn task(&self) -> Result<user_sync_core::fanout::FanOutTask, serde_json::Error> {
        serde_json::from_str(&self.task)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub name: String,
    pub default_language: String,
    pub created: String,
    #[serde(default)]
    pub custom_attributes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension_guardrail_percent: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_retention_days: Option<u32>,
    /// The catalogue as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// One more with every write; absent (0) on items written before.
    #[serde(default)]
    pub version: u64,
    /// The settings' own versions, their ETags.
    #[serde(default)]
    pub catalog_version: u64,
    #[serde(default)]
    pub custom_attributes_version: u64,
    #[serde(default)]
    pub activity_retention_version: u64,
    /// `off`, `hourly` or `daily`; absent: daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_check: Option<user_sync_core::drift::DriftSchedule>,
    #[serde(default)]
    pub drift_check_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenItem {
    pub pk: String,
    pub sk: String,
    pub org_id: OrgId,
    pub token_id: String,
    pub kind: user_sync_core::auth::TokenKind,
    pub name: String,
    pub secret_sha256: String,
    pub created: String,
    /// Absent on keys stored before roles: read as `admin`.
    #[serde(default)]
    pub role: user_sync_core::access::Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// `{org}#TOKENS` / the token id: an organization's tokens are listed
    /// through gsi1 (without their secrets' hashes being of any use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
}

/// StateTable: a user's desired state (JSON) with its generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredItem {
    pub pk: String,
    pub sk: String,
    pub generation: u64,
    pub state: String,
    /// Why the state suspends the account (absent: active): read with the
    /// generation when users are counted, without the state itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<SuspendReason>,
}

/// StateTable: a user's sync status (JSON) with its applied generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusItem {
    pub pk: String,
    pub sk: String,
    pub applied_generation: u64,
    pub status: String,
    /// Set while the user has a failure: the keys of the sparse `failures`
    /// index (`{org}#FAILURES` / `{class}#{product}#{userId}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_sk: Option<String>,
    /// When a Retry sync last sent the user's job again (also in `status`):
    /// what a retry's conditional write compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_at: Option<String>,
}

/// StateTable: a user's welcome-email failure, in the `failures` index;
/// deleted once an email is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailStatusItem {
    pub pk: String,
    pub sk: String,
    /// The mail service's code, never the address.
    pub reason: String,
    pub attempts: u32,
    /// When it last failed.
    pub at: String,
    pub failure_pk: String,
    pub failure_sk: String,
    /// When a Retry sync last sent the email again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityItem {
    pub pk: String,
    pub sk: String,
    pub entry: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailClaimItem {
    pub pk: String,
    pub sk: String,
    pub claimed_at: String,
    /// `sending`, then `sent`; absent on claims made before states were
    /// kept, which were all sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// The states of an email claim.
pub mod claim_state {
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
}

/// What a DirectoryTable stream record is about, parsed from its image.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectoryRecord {
    User(Box<UserItem>),
    Member(MemberItem),
    Rule(RuleItem),
    Order(OrderItem),
    Sync(SyncItem),
    FanOut(FanOutItem),
    /// Anything else (tokens, claims, groups): not the evaluator's concern.
    Other,
}

impl DirectoryRecord {
    /// Parses an image by its sort key.
    pub fn parse(image: serde_dynamo::Item) -> Result<Self, serde_dynamo::Error> {
        let sk = match image.get("sk") {
            Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
            _ => return Ok(Self::Other),
        };
        Ok(if sk == sk::USER {
            Self::User(Box::new(serde_dynamo::from_item(image)?))
        } else if sk.starts_with(sk::MEMBER) {
            Self::Member(serde_dynamo::from_item(image)?)
        } else if sk.starts_with(sk::RULE) {
            Self::Rule(serde_dynamo::from_item(image)?)
        } else if sk == sk::SYNC {
            Self::Sync(serde_dynamo::from_item(image)?)
        } else if sk == sk::ORDER {
            Self::Order(serde_dynamo::from_item(image)?)
        } else if sk.starts_with(sk::TASK) {
            Self::FanOut(serde_dynamo::from_item(image)?)
        } else {
            Self::Other
        })
    }
}
