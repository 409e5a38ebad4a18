//! Validated organization domains: an organization provisions and emails
//! only addresses in domains it has proven it owns (see docs/domains.md).
//!
//! An admin adds a domain and is given a random token and the DNS TXT
//! record to publish ([`TxtRecord`]); verifying looks the record up through
//! the [`TxtResolver`] port and marks the domain verified, by whom and when,
//! once the organization also holds the domain's global claim (first come;
//! ops may take it over). A scheduled re-check flags a verified domain whose
//! record disappeared ([`DomainState::RecordMissing`]), keeps allowing it
//! for a grace period while the admin is warned, then lets it lapse. A
//! lookup that could not be made (timeout, SERVFAIL, refused) never changes
//! a domain's state and never verifies one.

use std::future::Future;

use time::{Duration, OffsetDateTime};

use crate::error::{DomainError, StoreError};
use crate::ids::OrgId;

/// Longest domain name, in its ASCII form (RFC 1035 §2.3.4, without the
/// root's trailing dot).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Most domains one organization may hold.
pub const MAX_DOMAINS_PER_ORG: usize = 100;
/// The label the TXT record is published under: `_user-sync.<domain>`.
pub const RECORD_LABEL: &str = "_user-sync";
/// What the TXT record's value starts with, before the token.
pub const RECORD_PREFIX: &str = "user-sync-verification=";
/// How long a verified domain whose record disappeared stays allowed.
pub const GRACE_PERIOD: Duration = Duration::days(7);
/// How long before the grace period ends the admin is warned again.
pub const WARN_BEFORE_LAPSE: Duration = Duration::days(2);
/// Bytes of randomness in a verification token (hex: twice as many
/// characters).
const TOKEN_BYTES: usize = 20;

/// Public suffixes of more than one label under which many unrelated
/// owners register names. Not the whole public suffix list: a cheap check
/// that catches the common mistakes (`co.uk` instead of `acme.co.uk`);
/// single-label names (`com`) are refused anyway.
const MULTI_LABEL_PUBLIC_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "me.uk",
    "ltd.uk",
    "plc.uk",
    "ac.uk",
    "gov.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "co.nz",
    "org.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "co.za",
    "org.za",
    "com.br",
    "net.br",
    "org.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "com.mx",
    "com.ar",
    "com.tr",
    "co.in",
    "net.in",
    "org.in",
    "co.kr",
    "or.kr",
    "com.sg",
    "com.hk",
    "com.tw",
    "co.il",
    "com.pl",
    "co.id",
    "com.my",
    "com.ph",
    "com.vn",
    "co.th",
    "com.ua",
    "github.io",
    "herokuapp.com",
    "azurewebsites.net",
    "cloudfront.net",
    "blogspot.com",
    "appspot.com",
    "pages.dev",
    "netlify.app",
    "vercel.app",
    "amazonaws.com",
];

/// A domain name in its one stored form: lower case, ASCII (an IDN in its
/// `xn--` form), no trailing dot, at least two labels, no wildcard, not a
/// public suffix alone.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Parses what an admin typed (`Example.COM`, `bücher.example.`) into
    /// its stored form, or refuses it naming the field `domain`.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let err = |reason: &str| DomainError::new("domain", reason);
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("is empty"));
        }
        // bounded before any work: a Unicode name is never longer in
        // characters than its ASCII form
        if trimmed.chars().count() > MAX_DOMAIN_LEN + 1 {
            return Err(err(&format!("is longer than {MAX_DOMAIN_LEN} characters")));
        }
        if trimmed.contains('*') {
            return Err(err(
                "wildcards are not allowed: add each domain (and choose whether its subdomains are included)",
            ));
        }
        if trimmed.contains('@') {
            return Err(err("is an email address: give only the part after the @"));
        }
        if trimmed.contains(['/', ':']) {
            return Err(err("is a URL: give only the domain name"));
        }
        let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
        let ascii = idna::domain_to_ascii_strict(without_dot).map_err(|_| {
            err("is not a valid domain name (letters, digits and hyphens in dot-separated labels, or an internationalized name)")
        })?;
        Self::check_ascii(&ascii).map_err(|reason| err(&reason))?;
        Ok(Self(ascii))
    }

    fn check_ascii(ascii: &str) -> Result<(), String> {
        if ascii.len() > MAX_DOMAIN_LEN {
            return Err(format!("is longer than {MAX_DOMAIN_LEN} characters"));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err("needs at least two labels, as example.com".to_owned());
        }
        for label in &labels {
            if label.is_empty() {
                return Err("has an empty label".to_owned());
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(format!(
                    "has a label longer than {MAX_LABEL_LEN} characters"
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err("labels may hold only letters, digits and hyphens".to_owned());
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err("a label may not start or end with a hyphen".to_owned());
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("is an IP address, not a domain name".to_owned());
        }
        if MULTI_LABEL_PUBLIC_SUFFIXES.contains(&ascii) {
            return Err(
                "is a public suffix that many owners share: add your own domain under it"
                    .to_owned(),
            );
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this domain or a subdomain of it.
    pub fn covers(&self, other: &DomainName, include_subdomains: bool) -> bool {
        other.0 == self.0
            || (include_subdomains
                && other
                    .0
                    .strip_suffix(self.0.as_str())
                    .is_some_and(|head| head.ends_with('.')))
    }

    /// The domain of an email address (the part after its last `@`), in
    /// the stored form; `None` when the address has no valid domain.
    pub fn of_email(email: &str) -> Option<DomainName> {
        let (_, domain) = email.trim().rsplit_once('@')?;
        DomainName::parse(domain).ok()
    }
}

impl TryFrom<String> for DomainName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DomainName::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> Self {
        d.0
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A domain's verification token: random, hex.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct VerificationToken(String);

/// The system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("no random bytes")]
pub struct NoRandomness;

impl VerificationToken {
    /// A new token from the system's random source.
    pub fn generate() -> Result<Self, NoRandomness> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
        Ok(Self(hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The DNS TXT record that proves a domain.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct TxtRecord {
    /// The record's full name, `_user-sync.<domain>`.
    pub name: String,
    /// Always `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The record's exact value, `user-sync-verification=<token>`.
    pub value: String,
}

impl TxtRecord {
    pub fn for_domain(domain: &DomainName, token: &VerificationToken) -> Self {
        Self {
            name: format!("{RECORD_LABEL}.{domain}"),
            record_type: "TXT".to_owned(),
            value: format!("{RECORD_PREFIX}{}", token.as_str()),
        }
    }
}

/// What a TXT lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtLookup {
    /// The name has TXT records: their texts (each record's strings joined).
    Found(Vec<String>),
    /// The name does not exist (NXDOMAIN) or has no TXT record.
    NotFound,
    /// No answer could be had (timeout, SERVFAIL, refused, network): the
    /// reason, for the admin. Never a verdict on the record.
    CouldNotCheck(String),
}

/// Looks DNS TXT records up.
pub trait TxtResolver: Sync {
    /// The TXT records of `name` (a full name, as `_user-sync.example.com`).
    /// MUST answer [`TxtLookup::NotFound`] only for NXDOMAIN or an empty
    /// answer, and [`TxtLookup::CouldNotCheck`] for every failure to get an
    /// answer.
    fn txt(&self, name: &str) -> impl Future<Output = TxtLookup> + Send;
}

/// Where a domain stands.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DomainState {
    /// Added, not verified yet.
    Pending,
    /// The record was found and the organization holds the domain.
    #[serde(rename_all = "camelCase")]
    Verified {
        verified_by: String,
        verified_at: String,
        /// The last scheduled re-check that found the record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_checked: Option<String>,
    },
    /// Verified, but a re-check found no record since `missing_since`: still
    /// allowed until the grace period ends, the admin is warned.
    #[serde(rename_all = "camelCase")]
    RecordMissing {
        verified_by: String,
        verified_at: String,
        missing_since: String,
        /// When the grace period ends and the domain lapses.
        lapses_at: String,
        /// Whether the warning before the end was given.
        #[serde(default)]
        final_warning: bool,
    },
    /// The record stayed missing past the grace period: not allowed until
    /// verified again.
    #[serde(rename_all = "camelCase")]
    Lapsed { since: String },
    /// Listed for an organization that existed before domains were checked:
    /// allowed, unverified, until ops decide.
    #[serde(rename_all = "camelCase")]
    Grandfathered { since: String },
}

impl DomainState {
    /// Whether addresses in the domain may be provisioned and emailed.
    pub fn allows_users(&self) -> bool {
        matches!(
            self,
            DomainState::Verified { .. }
                | DomainState::RecordMissing { .. }
                | DomainState::Grandfathered { .. }
        )
    }

    /// Whether the domain counts as verified (sync may be turned on).
    pub fn is_verified(&self) -> bool {
        matches!(
            self,
            DomainState::Verified { .. } | DomainState::RecordMissing { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            DomainState::Pending => "pending",
            DomainState::Verified { .. } => "verified",
            DomainState::RecordMissing { .. } => "record_missing",
            DomainState::Lapsed { .. } => "lapsed",
            DomainState::Grandfathered { .. } => "grandfathered",
        }
    }
}

/// One domain of an organization.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct OrgDomain {
    pub domain: DomainName,
    /// Whether addresses in its subdomains are allowed too.
    pub include_subdomains: bool,
    pub token: VerificationToken,
    pub added_by: String,
    pub added_at: String,
    #[serde(flatten)]
    pub state: DomainState,
}

impl OrgDomain {
    /// A new, pending domain with a fresh token.
    pub fn new(
        domain: DomainName,
        include_subdomains: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Self, NoRandomness> {
        Ok(Self {
            domain,
            include_subdomains,
            token: VerificationToken::generate()?,
            added_by: by.to_owned(),
            added_at: crate::time::format(now),
            state: DomainState::Pending,
        })
    }

    /// A domain listed as grandfathered (an organization that existed
    /// before domains were checked).
    pub fn grandfathered(
        domain: DomainName,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Self, NoRandomness> {
        let mut d = Self::new(domain, false, by, now)?;
        d.state = DomainState::Grandfathered {
            since: crate::time::format(now),
        };
        Ok(d)
    }

    /// The record to publish.
    pub fn record(&self) -> TxtRecord {
        TxtRecord::for_domain(&self.domain, &self.token)
    }

    /// Whether the lookup found this domain's record (the exact value,
    /// ignoring surrounding spaces and quotes).
    pub fn record_found(&self, lookup: &TxtLookup) -> bool {
        let want = self.record().value;
        match lookup {
            TxtLookup::Found(texts) => texts
                .iter()
                .any(|t| t.trim().trim_matches('"').trim() == want),
            _ => false,
        }
    }

    fn verified(&mut self, by: &str, now: OffsetDateTime) {
        self.state = DomainState::Verified {
            verified_by: by.to_owned(),
            verified_at: crate::time::format(now),
            last_checked: None,
        };
    }
}

/// Why a domain was not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyRefusal {
    /// The lookup answered, without the record.
    #[error("the TXT record {name} with the value {value} was not found")]
    RecordNotFound { name: String, value: String },
    /// The lookup could not be made; nothing changed.
    #[error("the DNS lookup could not be made ({0}); nothing changed, try again later")]
    CouldNotCheck(String),
    /// Another organization holds the domain.
    #[error("another organization has already verified this domain")]
    ClaimedByAnother,
}

/// What a verification attempt decides from the lookup, before the claim.
pub fn judge_lookup(domain: &OrgDomain, lookup: &TxtLookup) -> Result<(), VerifyRefusal> {
    match lookup {
        TxtLookup::CouldNotCheck(reason) => Err(VerifyRefusal::CouldNotCheck(reason.clone())),
        _ if domain.record_found(lookup) => Ok(()),
        _ => {
            let r = domain.record();
            Err(VerifyRefusal::RecordNotFound {
                name: r.name,
                value: r.value,
            })
        }
    }
}

/// What a scheduled re-check did to a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Nothing to tell (still verified, or not a verified domain).
    Unchanged,
    /// The record is there again after it was missing.
    Restored,
    /// The record disappeared: flagged, allowed until `lapses_at`.
    Flagged { lapses_at: String },
    /// Still missing, the grace period ends soon: warn the admin again.
    FinalWarning { lapses_at: String },
    /// Still missing past the grace period: no longer allowed.
    Lapsed,
    /// The lookup could not be made: nothing changed.
    CouldNotCheck(String),
}

/// Applies a scheduled re-check's lookup to a domain. Only verified domains
/// (and those whose record is missing) are re-checked; a lookup that could
/// not be made changes nothing.
pub fn recheck(domain: &mut OrgDomain, lookup: &TxtLookup, now: OffsetDateTime) -> Recheck {
    if let TxtLookup::CouldNotCheck(reason) = lookup {
        return if domain.state.is_verified() {
            Recheck::CouldNotCheck(reason.clone())
        } else {
            Recheck::Unchanged
        };
    }
    let found = domain.record_found(lookup);
    let stamp = crate::time::format(now);
    let state = domain.state.clone();
    match &state {
        DomainState::Verified {
            verified_by,
            verified_at,
            ..
        } => {
            if found {
                domain.state = DomainState::Verified {
                    verified_by: verified_by.clone(),
                    verified_at: verified_at.clone(),
                    last_checked: Some(stamp),
                };
                Recheck::Unchanged
            } else {
                let lapses_at = crate::time::format(now + GRACE_PERIOD);
                domain.state = DomainState::RecordMissing {
                    verified_by: verified_by.clone(),
                    verified_at: verified_at.clone(),
                    missing_since: stamp,
                    lapses_at: lapses_at.clone(),
                    final_warning: false,
                };
                Recheck::Flagged { lapses_at }
            }
        }
        DomainState::RecordMissing {
            verified_by,
            verified_at,
            missing_since,
            lapses_at,
            final_warning,
        } => {
            if found {
                domain.state = DomainState::Verified {
                    verified_by: verified_by.clone(),
                    verified_at: verified_at.clone(),
                    last_checked: Some(stamp),
                };
                return Recheck::Restored;
            }
            let end = crate::time::parse(lapses_at).unwrap_or(now);
            if now >= end {
                domain.state = DomainState::Lapsed { since: stamp };
                Recheck::Lapsed
            } else if !final_warning && end - now <= WARN_BEFORE_LAPSE {
                domain.state = DomainState::RecordMissing {
                    verified_by: verified_by.clone(),
                    verified_at: verified_at.clone(),
                    missing_since: missing_since.clone(),
                    lapses_at: lapses_at.clone(),
                    final_warning: true,
                };
                Recheck::FinalWarning {
                    lapses_at: lapses_at.clone(),
                }
            } else {
                Recheck::Unchanged
            }
        }
        DomainState::Pending | DomainState::Lapsed { .. } | DomainState::Grandfathered { .. } => {
            Recheck::Unchanged
        }
    }
}

/// Whether `email` may be provisioned and emailed by an organization with
/// `domains`: its domain is one that allows users, or a subdomain of one
/// that includes them. Answers the domain to verify when it is not.
pub fn check_email(domains: &[OrgDomain], email: &str) -> Result<(), UnverifiedDomain> {
    let Some(domain) = DomainName::of_email(email) else {
        return Err(UnverifiedDomain { domain: None });
    };
    if domains
        .iter()
        .any(|d| d.state.allows_users() && d.domain.covers(&domain, d.include_subdomains))
    {
        Ok(())
    } else {
        Err(UnverifiedDomain {
            domain: Some(domain),
        })
    }
}

/// An address outside the organization's verified domains.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the email address is not in a verified domain of the organization")]
pub struct UnverifiedDomain {
    /// The address's domain; `None` when the address has no valid domain.
    pub domain: Option<DomainName>,
}

/// Whether sync may be turned on: refused without a verified (or
/// grandfathered) domain.
pub fn check_sync_on(domains: &[OrgDomain]) -> Result<(), &'static str> {
    if domains.iter().any(|d| d.state.allows_users()) {
        Ok(())
    } else {
        Err(
            "Sync cannot be turned on before the organization has a verified domain: add your email domain and publish its DNS record (see Domains).",
        )
    }
}

/// The global claim of a domain: the one organization that may verify it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct DomainClaim {
    pub domain: DomainName,
    pub org: OrgId,
    pub at: String,
    /// Whether ops took it for the organization (the override).
    #[serde(default)]
    pub by_ops: bool,
}

/// How a claim is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMode {
    /// First come: MUST fail with `Conflict` when another organization
    /// holds the claim.
    FirstCome,
    /// Ops override: takes the claim whoever holds it.
    Override,
}

/// Domains and their global claims.
pub trait Domains: Sync {
    /// The organization's domains, ordered by name.
    fn list_domains(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<OrgDomain>, StoreError>> + Send;
    /// `None` when the organization has no such domain.
    fn get_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> impl Future<Output = Result<Option<OrgDomain>, StoreError>> + Send;
    /// Adds a domain. MUST return `Conflict` when the organization has it.
    fn add_domain(
        &self,
        org: &OrgId,
        domain: &OrgDomain,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a domain the organization has. MUST return `NotFound` when
    /// it has none.
    fn put_domain(
        &self,
        org: &OrgId,
        domain: &OrgDomain,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes a domain and the organization's claim of it. MUST return
    /// `NotFound` when it has none.
    fn remove_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes the domain's global claim for `claim.org`. With
    /// [`ClaimMode::FirstCome`] MUST return `Conflict` when another
    /// organization holds it (holding it already is not a conflict).
    fn claim(
        &self,
        claim: &DomainClaim,
        mode: ClaimMode,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when no organization holds the domain.
    fn get_claim(
        &self,
        domain: &DomainName,
    ) -> impl Future<Output = Result<Option<DomainClaim>, StoreError>> + Send;
}

/// Why a domain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainOpError {
    #[error("no such domain")]
    NotFound,
    #[error("the organization has this domain already")]
    Exists,
    #[error("an organization may hold at most {MAX_DOMAINS_PER_ORG} domains")]
    TooMany,
    #[error(transparent)]
    Refused(#[from] VerifyRefusal),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DomainOpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DomainOpError::NotFound,
            e => DomainOpError::Store(e),
        }
    }
}

/// Adds a pending domain with a fresh token.
pub async fn add_domain<S: Domains>(
    store: &S,
    org: &OrgId,
    domain: DomainName,
    include_subdomains: bool,
    by: &str,
    now: OffsetDateTime,
) -> Result<OrgDomain, DomainOpError> {
    let existing = store.list_domains(org).await?;
    if existing.iter().any(|d| d.domain == domain) {
        return Err(DomainOpError::Exists);
    }
    if existing.len() >= MAX_DOMAINS_PER_ORG {
        return Err(DomainOpError::TooMany);
    }
    let d = OrgDomain::new(domain, include_subdomains, by, now)?;
    match store.add_domain(org, &d).await {
        Err(StoreError::Conflict(_)) => Err(DomainOpError::Exists),
        r => r.map(|()| d).map_err(DomainOpError::from),
    }
}

/// Verifies a domain: looks its record up, then claims it first come. A
/// lookup that could not be made, a missing record or another
/// organization's claim leaves the domain as it was.
pub async fn verify_domain<S: Domains, R: TxtResolver>(
    store: &S,
    resolver: &R,
    org: &OrgId,
    domain: &DomainName,
    by: &str,
    now: OffsetDateTime,
) -> Result<OrgDomain, DomainOpError> {
    let mut d = store
        .get_domain(org, domain)
        .await?
        .ok_or(DomainOpError::NotFound)?;
    let lookup = resolver.txt(&d.record().name).await;
    judge_lookup(&d, &lookup)?;
    let claim = DomainClaim {
        domain: domain.clone(),
        org: org.clone(),
        at: crate::time::format(now),
        by_ops: false,
    };
    match store.claim(&claim, ClaimMode::FirstCome).await {
        Err(StoreError::Conflict(_)) => return Err(VerifyRefusal::ClaimedByAnother.into()),
        r => r?,
    }
    d.verified(by, now);
    store.put_domain(org, &d).await?;
    Ok(d)
}

/// The ops override: claims the domain for the organization whoever held
/// it, and marks it verified without a lookup (the organization gets the
/// domain when it has none). The former holder's domain stays listed but
/// cannot be verified again while this claim stands.
pub async fn override_domain<S: Domains>(
    store: &S,
    org: &OrgId,
    domain: &DomainName,
    include_subdomains: bool,
    by: &str,
    now: OffsetDateTime,
) -> Result<OrgDomain, DomainOpError> {
    let mut d = match store.get_domain(org, domain).await? {
        Some(d) => d,
        None => add_domain(store, org, domain.clone(), include_subdomains, by, now).await?,
    };
    let previous = store.get_claim(domain).await?;
    store
        .claim(
            &DomainClaim {
                domain: domain.clone(),
                org: org.clone(),
                at: crate::time::format(now),
                by_ops: true,
            },
            ClaimMode::Override,
        )
        .await?;
    if let Some(p) = previous.filter(|p| &p.org != org)
        && let Some(mut theirs) = store.get_domain(&p.org, domain).await?
    {
        theirs.state = DomainState::Lapsed {
            since: crate::time::format(now),
        };
        store.put_domain(&p.org, &theirs).await?;
    }
    d.include_subdomains = include_subdomains || d.include_subdomains;
    d.verified(by, now);
    store.put_domain(org, &d).await?;
    Ok(d)
}

/// Lists a domain as grandfathered when the organization does not have it
/// yet; answers whether it was added.
pub async fn grandfather_domain<S: Domains>(
    store: &S,
    org: &OrgId,
    domain: DomainName,
    by: &str,
    now: OffsetDateTime,
) -> Result<bool, DomainOpError> {
    if store.get_domain(org, &domain).await?.is_some() {
        return Ok(false);
    }
    let d = OrgDomain::grandfathered(domain, by, now)?;
    match store.add_domain(org, &d).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The scheduled re-check of one organization: looks up the record of each
/// verified domain (and each whose record is missing) and stores what
/// [`recheck`] decided. Answers each re-checked domain with the decision.
pub async fn recheck_domains<S: Domains, R: TxtResolver>(
    store: &S,
    resolver: &R,
    org: &OrgId,
    now: OffsetDateTime,
) -> Result<Vec<(OrgDomain, Recheck)>, DomainOpError> {
    let mut done = Vec::new();
    for mut d in store.list_domains(org).await? {
        if !d.state.is_verified() {
            continue;
        }
        let lookup = resolver.txt(&d.record().name).await;
        let before = d.state.clone();
        let decision = recheck(&mut d, &lookup, now);
        if d.state != before {
            store.put_domain(org, &d).await?;
        }
        done.push((d, decision));
    }
    Ok(done)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use time::macros::datetime;

    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn refused(s: &str) -> String {
        let e = DomainName::parse(s).unwrap_err();
        assert_eq!(e.field, "domain");
        e.reason
    }

    #[test]
    fn names_are_lower_case_ascii_without_the_root_dot() {
        assert_eq!(name(" Example.COM. ").as_str(), "example.com");
        assert_eq!(name("bücher.example").as_str(), "xn--bcher-kva.example");
        assert_eq!(name("BÜCHER.example").as_str(), "xn--bcher-kva.example");
        assert_eq!(name("mail.eu.acme.co.uk").as_str(), "mail.eu.acme.co.uk");
        // the stored form parses to itself
        let d = name("xn--bcher-kva.example");
        assert_eq!(DomainName::parse(d.as_str()).unwrap(), d);
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert!(refused("").contains("empty"));
        assert!(refused("*.example.com").contains("wildcard"));
        assert!(refused("ada@example.com").contains("email"));
        assert!(refused("https://example.com").contains("URL"));
        assert!(refused("com").contains("two labels"));
        assert!(refused("co.uk").contains("public suffix"));
        assert!(refused("10.0.0.1").contains("IP address"));
        assert!(refused("-acme.com").contains("not a valid"));
        assert!(refused("ac me.com").contains("not a valid"));
        assert!(refused("a..com").contains("not a valid"));
        assert!(refused(&format!("{}.com", "a".repeat(64))).contains("not a valid"));
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(refused(&long).contains("longer"), "{}", refused(&long));
        assert!(refused(&"é".repeat(10_000)).contains("longer"));
    }

    #[test]
    fn subdomains_are_covered_only_when_included() {
        let parent = name("example.com");
        assert!(parent.covers(&name("example.com"), false));
        assert!(!parent.covers(&name("eu.example.com"), false));
        assert!(parent.covers(&name("eu.example.com"), true));
        assert!(parent.covers(&name("a.eu.example.com"), true));
        // a name that only ends with the same letters is not a subdomain
        assert!(!parent.covers(&name("badexample.com"), true));
    }

    fn at() -> OffsetDateTime {
        datetime!(2026-12-01 10:00 UTC)
    }

    fn domain(s: &str, subdomains: bool, state: DomainState) -> OrgDomain {
        let mut d = OrgDomain::new(name(s), subdomains, "Alice", at()).unwrap();
        d.state = state;
        d
    }

    fn verified() -> DomainState {
        DomainState::Verified {
            verified_by: "Alice".into(),
            verified_at: "2026-12-01T10:00:00.000Z".into(),
            last_checked: None,
        }
    }

    #[test]
    fn tokens_are_random_and_the_record_is_exact() {
        let a = OrgDomain::new(name("Example.com"), false, "Alice", at()).unwrap();
        let b = OrgDomain::new(name("example.com"), false, "Alice", at()).unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.as_str().len(), 40);
        let r = a.record();
        assert_eq!(r.name, "_user-sync.example.com");
        assert_eq!(r.record_type, "TXT");
        assert_eq!(
            r.value,
            format!("user-sync-verification={}", a.token.as_str())
        );
        assert_eq!(a.state, DomainState::Pending);
    }

    #[test]
    fn only_the_exact_record_verifies_and_a_failed_lookup_never_does() {
        let d = domain("example.com", false, DomainState::Pending);
        let value = d.record().value;
        let ok = TxtLookup::Found(vec!["v=spf1 -all".into(), format!("\"{value}\"")]);
        assert_eq!(judge_lookup(&d, &ok), Ok(()));
        let other = TxtLookup::Found(vec!["user-sync-verification=someone-else".into()]);
        assert!(matches!(
            judge_lookup(&d, &other),
            Err(VerifyRefusal::RecordNotFound { .. })
        ));
        assert!(matches!(
            judge_lookup(&d, &TxtLookup::NotFound),
            Err(VerifyRefusal::RecordNotFound { .. })
        ));
        assert_eq!(
            judge_lookup(&d, &TxtLookup::CouldNotCheck("SERVFAIL".into())),
            Err(VerifyRefusal::CouldNotCheck("SERVFAIL".into()))
        );
    }

    #[test]
    fn emails_are_allowed_in_allowing_domains_only() {
        let domains = vec![
            domain("example.com", false, verified()),
            domain("corp.example", true, verified()),
            domain("pending.example", false, DomainState::Pending),
            domain(
                "old.example",
                false,
                DomainState::Grandfathered {
                    since: "2026-12-01T10:00:00.000Z".into(),
                },
            ),
            domain(
                "gone.example",
                false,
                DomainState::Lapsed {
                    since: "2026-12-01T10:00:00.000Z".into(),
                },
            ),
        ];
        assert_eq!(check_email(&domains, "Ada@Example.COM"), Ok(()));
        assert_eq!(check_email(&domains, "ada@eu.corp.example"), Ok(()));
        assert_eq!(check_email(&domains, "ada@old.example"), Ok(()));
        for (email, missing) in [
            ("ada@eu.example.com", Some("eu.example.com")),
            ("ada@pending.example", Some("pending.example")),
            ("ada@gone.example", Some("gone.example")),
            ("ceo@other-company.com", Some("other-company.com")),
            ("no-domain", None),
            ("ada@", None),
        ] {
            let e = check_email(&domains, email).unwrap_err();
            assert_eq!(
                e.domain.as_ref().map(DomainName::as_str),
                missing,
                "{email}"
            );
        }
        assert!(check_sync_on(&domains).is_ok());
        assert!(check_sync_on(&domains[2..3]).is_err());
        assert!(check_sync_on(&[]).is_err());
    }

    #[test]
    fn a_missing_record_is_flagged_warned_then_lapses_and_can_come_back() {
        let mut d = domain("example.com", false, verified());
        let record = TxtLookup::Found(vec![d.record().value]);
        assert_eq!(recheck(&mut d, &record, at()), Recheck::Unchanged);
        assert!(matches!(
            d.state,
            DomainState::Verified {
                last_checked: Some(_),
                ..
            }
        ));
        // a failed lookup changes nothing
        let before = d.clone();
        let failed = TxtLookup::CouldNotCheck("timeout".into());
        assert_eq!(
            recheck(&mut d, &failed, at()),
            Recheck::CouldNotCheck("timeout".into())
        );
        assert_eq!(d, before);
        // disappears: flagged, still allowed
        let t0 = at() + Duration::days(1);
        assert_eq!(
            recheck(&mut d, &TxtLookup::NotFound, t0),
            Recheck::Flagged {
                lapses_at: "2026-12-09T10:00:00.000Z".into()
            }
        );
        assert!(d.state.allows_users() && d.state.is_verified());
        assert_eq!(
            recheck(&mut d, &TxtLookup::NotFound, t0 + Duration::days(1)),
            Recheck::Unchanged
        );
        // two days before the end: warned once
        let late = t0 + GRACE_PERIOD - Duration::days(1);
        assert!(matches!(
            recheck(&mut d, &TxtLookup::NotFound, late),
            Recheck::FinalWarning { .. }
        ));
        assert_eq!(
            recheck(&mut d, &TxtLookup::NotFound, late),
            Recheck::Unchanged
        );
        // back in time: verified again, by the same person
        let mut back = d.clone();
        assert_eq!(recheck(&mut back, &record, late), Recheck::Restored);
        assert!(
            matches!(&back.state, DomainState::Verified { verified_by, .. } if verified_by == "Alice")
        );
        // past the end: lapsed, no longer allowed; a re-check does not bring it back
        assert_eq!(
            recheck(&mut d, &TxtLookup::NotFound, t0 + GRACE_PERIOD),
            Recheck::Lapsed
        );
        assert!(!d.state.allows_users());
        assert_eq!(recheck(&mut d, &record, late), Recheck::Unchanged);
        // pending domains are not re-checked
        let mut p = domain("example.org", false, DomainState::Pending);
        assert_eq!(
            recheck(&mut p, &TxtLookup::NotFound, at()),
            Recheck::Unchanged
        );
    }

    #[test]
    fn states_round_trip_through_json() {
        let d = domain("example.com", true, verified());
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["status"], "verified");
        assert_eq!(json["verifiedBy"], "Alice");
        assert_eq!(json["includeSubdomains"], true);
        let back: OrgDomain = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
        let bad = serde_json::json!({"domain": "*.x.com", "includeSubdomains": false,
            "token": "t", "addedBy": "a", "addedAt": "b", "status": "pending"});
        assert!(serde_json::from_value::<OrgDomain>(bad).is_err());
    }

    /// Domains and claims in maps, with the port's contract.
    #[derive(Default)]
    struct Fake {
        domains: Mutex<BTreeMap<(OrgId, DomainName), OrgDomain>>,
        claims: Mutex<BTreeMap<DomainName, DomainClaim>>,
    }

    impl Domains for Fake {
        async fn list_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
            let m = self.domains.lock().unwrap();
            Ok(m.iter()
                .filter(|((o, _), _)| o == org)
                .map(|(_, d)| d.clone())
                .collect())
        }
        async fn get_domain(
            &self,
            org: &OrgId,
            domain: &DomainName,
        ) -> Result<Option<OrgDomain>, StoreError> {
            let m = self.domains.lock().unwrap();
            Ok(m.get(&(org.clone(), domain.clone())).cloned())
        }
        async fn add_domain(&self, org: &OrgId, d: &OrgDomain) -> Result<(), StoreError> {
            let mut m = self.domains.lock().unwrap();
            let k = (org.clone(), d.domain.clone());
            if m.contains_key(&k) {
                return Err(StoreError::Conflict("exists".into()));
            }
            m.insert(k, d.clone());
            Ok(())
        }
        async fn put_domain(&self, org: &OrgId, d: &OrgDomain) -> Result<(), StoreError> {
            let mut m = self.domains.lock().unwrap();
            let k = (org.clone(), d.domain.clone());
            if !m.contains_key(&k) {
                return Err(StoreError::NotFound);
            }
            m.insert(k, d.clone());
            Ok(())
        }
        async fn remove_domain(&self, org: &OrgId, d: &DomainName) -> Result<(), StoreError> {
            let mut m = self.domains.lock().unwrap();
            m.remove(&(org.clone(), d.clone()))
                .ok_or(StoreError::NotFound)?;
            let mut c = self.claims.lock().unwrap();
            if c.get(d).is_some_and(|c| &c.org == org) {
                c.remove(d);
            }
            Ok(())
        }
        async fn claim(&self, claim: &DomainClaim, mode: ClaimMode) -> Result<(), StoreError> {
            let mut c = self.claims.lock().unwrap();
            if mode == ClaimMode::FirstCome
                && c.get(&claim.domain).is_some_and(|c| c.org != claim.org)
            {
                return Err(StoreError::Conflict("claimed".into()));
            }
            c.insert(claim.domain.clone(), claim.clone());
            Ok(())
        }
        async fn get_claim(&self, d: &DomainName) -> Result<Option<DomainClaim>, StoreError> {
            Ok(self.claims.lock().unwrap().get(d).cloned())
        }
    }

    struct Dns(TxtLookup);
    impl TxtResolver for Dns {
        async fn txt(&self, _: &str) -> TxtLookup {
            self.0.clone()
        }
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn the_first_organization_to_verify_holds_the_domain_until_ops_override() {
        run(async {
            let store = Fake::default();
            let (a, b) = (OrgId::parse("a").unwrap(), OrgId::parse("b").unwrap());
            let n = name("example.com");
            let da = add_domain(&store, &a, n.clone(), false, "Alice", at())
                .await
                .unwrap();
            assert!(matches!(
                add_domain(&store, &a, n.clone(), false, "Alice", at()).await,
                Err(DomainOpError::Exists)
            ));
            let db = add_domain(&store, &b, n.clone(), false, "Bob", at())
                .await
                .unwrap();
            // before the record exists, and when it cannot be checked
            let r = verify_domain(&store, &Dns(TxtLookup::NotFound), &a, &n, "Alice", at()).await;
            assert!(matches!(
                r,
                Err(DomainOpError::Refused(VerifyRefusal::RecordNotFound { .. }))
            ));
            let r = verify_domain(
                &store,
                &Dns(TxtLookup::CouldNotCheck("SERVFAIL".into())),
                &a,
                &n,
                "Alice",
                at(),
            )
            .await;
            assert!(matches!(
                r,
                Err(DomainOpError::Refused(VerifyRefusal::CouldNotCheck(_)))
            ));
            assert_eq!(
                store.get_domain(&a, &n).await.unwrap().unwrap().state,
                DomainState::Pending
            );
            assert_eq!(store.get_claim(&n).await.unwrap(), None);
            // a verifies first
            let ok = Dns(TxtLookup::Found(vec![da.record().value]));
            let v = verify_domain(&store, &ok, &a, &n, "Alice", at())
                .await
                .unwrap();
            assert!(
                matches!(&v.state, DomainState::Verified { verified_by, .. } if verified_by == "Alice")
            );
            // again: still fine
            verify_domain(&store, &ok, &a, &n, "Alice", at())
                .await
                .unwrap();
            // b publishes its own record: refused, a holds it
            let theirs = Dns(TxtLookup::Found(vec![db.record().value]));
            let r = verify_domain(&store, &theirs, &b, &n, "Bob", at()).await;
            assert!(matches!(
                r,
                Err(DomainOpError::Refused(VerifyRefusal::ClaimedByAnother))
            ));
            assert_eq!(
                store.get_domain(&b, &n).await.unwrap().unwrap().state,
                DomainState::Pending
            );
            // ops give it to b: a's lapses
            override_domain(&store, &b, &n, false, "ops", at())
                .await
                .unwrap();
            assert_eq!(store.get_claim(&n).await.unwrap().unwrap().org, b);
            assert!(
                store
                    .get_domain(&b, &n)
                    .await
                    .unwrap()
                    .unwrap()
                    .state
                    .is_verified()
            );
            assert!(
                !store
                    .get_domain(&a, &n)
                    .await
                    .unwrap()
                    .unwrap()
                    .state
                    .allows_users()
            );
            let r = verify_domain(&store, &ok, &a, &n, "Alice", at()).await;
            assert!(matches!(
                r,
                Err(DomainOpError::Refused(VerifyRefusal::ClaimedByAnother))
            ));
            // the override adds a domain the organization did not have
            let c = OrgId::parse("c").unwrap();
            let other = name("other.example");
            let d = override_domain(&store, &c, &other, true, "ops", at())
                .await
                .unwrap();
            assert!(d.include_subdomains && d.state.is_verified());
            // removing frees the claim
            store.remove_domain(&b, &n).await.unwrap();
            assert_eq!(store.get_claim(&n).await.unwrap(), None);
            verify_domain(&store, &ok, &a, &n, "Alice", at())
                .await
                .unwrap();
        });
    }
}
