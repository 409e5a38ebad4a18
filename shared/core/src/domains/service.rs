//! Domain operations: add, verify, override, grandfather, re-check.

use time::OffsetDateTime;

use super::{
    ClaimMode, DomainClaim, DomainName, DomainOpError, DomainState, Domains, MAX_DOMAINS_PER_ORG,
    OrgDomain, Recheck, TxtResolver, VerifyRefusal, judge_lookup, recheck,
};
use crate::activity::{Action, ActivityEntry, SYNC_USER, Subject, SubjectKind};
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::ports::{ActivityLog, Organizations};
use crate::state::Outcome;

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
    let claim = DomainClaim::new(domain, org, now, false);
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
            &DomainClaim::new(domain, org, now, true),
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
/// [`recheck`] decided. Each decision the admin is told of is recorded in
/// `history` (actor `Sync user`) before the domain is stored, so the
/// domain never shows a change its entry does not record: a run stopped
/// between the two records the change again at the next run rather than
/// never. `None` records nothing. Answers each re-checked domain with the
/// decision.
pub async fn recheck_domains<S: Domains, R: TxtResolver, L: ActivityLog>(
    store: &S,
    resolver: &R,
    history: Option<&L>,
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
        if let (Some(history), Some((action, details))) = (history, decision.activity()) {
            let entry = domain_entry(&d.domain, SYNC_USER, action, details, now);
            history.append_activity(org, &entry).await?;
        }
        if d.state != before {
            store.put_domain(org, &d).await?;
        }
        done.push((d, decision));
    }
    Ok(done)
}

/// The activity entry of a change to `domain` by `actor` at `now`.
pub fn domain_entry(
    domain: &DomainName,
    actor: &str,
    action: Action,
    details: serde_json::Value,
    now: OffsetDateTime,
) -> ActivityEntry {
    let at = crate::time::format(now);
    let mut entry = ActivityEntry::new(
        at.clone(),
        &format!("{action:?}#{domain}#{at}"),
        actor,
        action,
        Subject {
            kind: SubjectKind::Domain,
            id: domain.to_string(),
        },
        Outcome::Success,
    );
    entry.details = details;
    entry
}

impl Recheck {
    /// The activity entry (actor `Sync user`) that records this decision,
    /// with its details; `None` when there is nothing to tell the admin.
    pub fn activity(&self) -> Option<(Action, serde_json::Value)> {
        match self {
            Recheck::Flagged { lapses_at } => Some((
                Action::DomainRecordMissing,
                serde_json::json!({"lapsesAt": lapses_at}),
            )),
            Recheck::FinalWarning { lapses_at } => Some((
                Action::DomainLapseWarning,
                serde_json::json!({"lapsesAt": lapses_at}),
            )),
            Recheck::Lapsed => Some((Action::DomainLapsed, serde_json::Value::Null)),
            Recheck::Restored => Some((Action::DomainRestored, serde_json::Value::Null)),
            Recheck::Unchanged | Recheck::CouldNotCheck(_) => None,
        }
    }
}

/// Organizations read per page by [`recheck_every_organization`].
pub const RECHECK_ORG_PAGE: usize = 100;

/// What one scheduled run of [`recheck_every_organization`] did: counts
/// only, no domain or organization names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckRun {
    /// Organizations whose domains were read.
    pub organizations: usize,
    /// Domains whose record was looked up.
    pub domains: usize,
    /// Domains flagged, warned, lapsed or restored (each with its activity
    /// entry).
    pub changed: usize,
    /// Lookups that could not be made (those domains are unchanged).
    pub could_not_check: usize,
    /// Organizations whose re-check failed on the store (left as they were,
    /// tried again at the next run).
    pub failed_organizations: usize,
    /// Whether every organization was reached before `keep_going` said stop.
    pub complete: bool,
}

/// The scheduled re-check: every organization's verified domains, each
/// through [`recheck_domains`] (the same decision as `ops domains recheck`),
/// each change recorded in the organization's activity history with the
/// actor `Sync user`. Reads organizations a page at a time and stops
/// before the next organization once `keep_going` answers `false` (the
/// caller's time budget): the run then reports `complete: false`. One
/// organization's store failure does not stop the others.
pub async fn recheck_every_organization<S, R, L>(
    store: &S,
    resolver: &R,
    log: &L,
    now: OffsetDateTime,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<RecheckRun, DomainOpError>
where
    S: Domains + Organizations,
    R: TxtResolver,
    L: ActivityLog,
{
    let mut run = RecheckRun::default();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.list_orgs(cursor.as_deref(), RECHECK_ORG_PAGE).await?;
        for org in page {
            if !keep_going() {
                return Ok(run);
            }
            run.organizations += 1;
            match recheck_org(store, resolver, log, &org.id, now).await {
                Ok(done) => {
                    run.domains += done.domains;
                    run.changed += done.changed;
                    run.could_not_check += done.could_not_check;
                }
                Err(_) => run.failed_organizations += 1,
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => {
                run.complete = true;
                return Ok(run);
            }
        }
    }
}

async fn recheck_org<S: Domains, R: TxtResolver, L: ActivityLog>(
    store: &S,
    resolver: &R,
    log: &L,
    org: &OrgId,
    now: OffsetDateTime,
) -> Result<RecheckRun, DomainOpError> {
    let mut run = RecheckRun::default();
    for (_, decision) in recheck_domains(store, resolver, Some(log), org, now).await? {
        run.domains += 1;
        if matches!(decision, Recheck::CouldNotCheck(_)) {
            run.could_not_check += 1;
        }
        if decision.activity().is_some() {
            run.changed += 1;
        }
    }
    Ok(run)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use time::macros::datetime;

    use super::*;
    use crate::domains::{
        ClaimMode, DomainClaim, DomainName, DomainOpError, DomainState, Domains, OrgDomain,
        TxtLookup, TxtResolver, VerifyRefusal,
    };
    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn at() -> OffsetDateTime {
        datetime!(2026-12-01 10:00 UTC)
    }

    /// Domains and claims in maps, with the port's contract.
    #[derive(Default)]
    struct Fake {
        domains: Mutex<BTreeMap<(OrgId, DomainName), OrgDomain>>,
        claims: Mutex<BTreeMap<DomainName, DomainClaim>>,
        /// Refuses the next `put_domain` (a run stopped before storing).
        refuse_put: std::sync::atomic::AtomicBool,
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
            if self
                .refuse_put
                .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                return Err(StoreError::transient(std::io::Error::other("stopped")));
            }
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

    /// A re-check stopped after it recorded a decision but before it
    /// stored the domain records the decision again at the next run: the
    /// domain never shows a change its history does not hold.
    #[test]
    fn a_recheck_stopped_before_storing_the_domain_records_the_change_again() {
        run(async {
            let store = Fake::default();
            let history = crate::memory::MemoryStore::default();
            let org = OrgId::parse("a").unwrap();
            let n = name("example.com");
            let d = add_domain(&store, &org, n.clone(), false, "Alice", at())
                .await
                .unwrap();
            let ok = Dns(TxtLookup::Found(vec![d.record().value]));
            verify_domain(&store, &ok, &org, &n, "Alice", at())
                .await
                .unwrap();
            let missing = Dns(TxtLookup::NotFound);
            let flagged = |store: &Fake| {
                let d = store.domains.lock().unwrap()[&(org.clone(), n.clone())].clone();
                matches!(d.state, DomainState::RecordMissing { .. })
            };
            let entries = || async {
                let filter = crate::activity::ActivityFilter {
                    action: Some(Action::DomainRecordMissing),
                    ..Default::default()
                };
                history.activity(&org, &filter, None, 10).await.unwrap().0
            };

            store
                .refuse_put
                .store(true, std::sync::atomic::Ordering::SeqCst);
            let stopped = recheck_domains(&store, &missing, Some(&history), &org, at()).await;
            assert!(
                matches!(stopped, Err(DomainOpError::Store(_))),
                "{stopped:?}"
            );
            assert!(!flagged(&store));
            assert_eq!(entries().await.len(), 1, "recorded before storing");

            let later = at() + time::Duration::hours(1);
            let done = recheck_domains(&store, &missing, Some(&history), &org, later)
                .await
                .unwrap();
            assert!(matches!(done[0].1, Recheck::Flagged { .. }), "{done:?}");
            assert!(flagged(&store));
            assert_eq!(entries().await.len(), 2, "recorded again, not lost");

            // flagged now: the next run changes and records nothing
            let again = at() + time::Duration::hours(2);
            recheck_domains(&store, &missing, Some(&history), &org, again)
                .await
                .unwrap();
            assert_eq!(entries().await.len(), 2);
        });
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
