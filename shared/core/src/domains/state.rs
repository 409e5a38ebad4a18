//! Where a domain stands: verification, the scheduled re-check, and what a
//! state allows (emails, sync).

use time::OffsetDateTime;

use super::{
    DomainName, GRACE_PERIOD, NoRandomness, TxtLookup, TxtRecord, VerificationToken,
    WARN_BEFORE_LAPSE,
};

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

    /// What the admin is warned of while the domain's record is missing
    /// (with the date the grace period ends and what happens then) or after
    /// it lapsed; `None` otherwise. No personal data: the domain and dates.
    pub fn warning(&self) -> Option<String> {
        let name = self.record().name;
        match &self.state {
            DomainState::RecordMissing {
                missing_since,
                lapses_at,
                ..
            } => Some(format!(
                "The DNS TXT record {name} of {domain} has been missing since {missing_since}. \
                 Users in {domain} are still provisioned until {lapses_at}; then the domain \
                 lapses and they get no account and no email until it is verified again. \
                 Publish the record again to keep the domain.",
                domain = self.domain
            )),
            DomainState::Lapsed { since } => Some(format!(
                "{domain} lapsed on {since}: its DNS TXT record {name} stayed missing past the \
                 grace period. Users in {domain} get no account and no email until the record \
                 is published and the domain verified again.",
                domain = self.domain
            )),
            _ => None,
        }
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

    pub(super) fn verified(&mut self, by: &str, now: OffsetDateTime) {
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

/// Verified as it was, its record found at `stamp`.
fn checked(verified_by: &str, verified_at: &str, stamp: String) -> DomainState {
    DomainState::Verified {
        verified_by: verified_by.to_owned(),
        verified_at: verified_at.to_owned(),
        last_checked: Some(stamp),
    }
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
                domain.state = checked(verified_by, verified_at, stamp);
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
                domain.state = checked(verified_by, verified_at, stamp);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::activity::Action;
    use crate::domains::{DomainName, GRACE_PERIOD, TxtLookup};
    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
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
    fn a_flagged_domain_warns_the_admin_with_the_end_of_its_grace_period() {
        let mut d = domain("example.com", false, verified());
        assert_eq!(d.warning(), None);
        let flagged = recheck(&mut d, &TxtLookup::NotFound, at());
        let Recheck::Flagged { lapses_at } = &flagged else {
            panic!("{flagged:?}");
        };
        let (action, details) = flagged.activity().unwrap();
        assert_eq!(action, Action::DomainRecordMissing);
        assert_eq!(details["lapsesAt"], lapses_at.as_str());
        let warning = d.warning().unwrap();
        assert!(warning.contains(lapses_at.as_str()), "{warning}");
        assert!(warning.contains("_user-sync.example.com"), "{warning}");
        assert!(warning.contains("no account and no email"), "{warning}");
        let lapsed = recheck(&mut d, &TxtLookup::NotFound, at() + GRACE_PERIOD);
        assert_eq!(lapsed, Recheck::Lapsed);
        assert_eq!(lapsed.activity().unwrap().0, Action::DomainLapsed);
        assert!(d.warning().unwrap().contains("lapsed"));
        assert_eq!(Recheck::Unchanged.activity(), None);
        assert_eq!(Recheck::CouldNotCheck("timeout".into()).activity(), None);
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
}
