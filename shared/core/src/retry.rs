//! Retry sync: an organization's failed users sent again, from its own
//! failure records (its users' sync statuses and welcome-email failures, in
//! the `failures` index), never from the dead-letter queues every
//! organization shares.
//!
//! - **Who is sent again.** Of the selection (everything, one class, one
//!   user), every user whose job waits for Retry sync
//!   ([`SyncStatus::dead_lettered`]) gets a fresh job for its current desired
//!   generation; every welcome-email failure gets its welcome email, rebuilt
//!   from the user's desired state ([`MailJob::welcome`]). Jobs before
//!   emails, users in id order.
//! - **At most once per retry, and no double retry.** Before a user's job
//!   (or email) is sent, the retry records it on the user with a conditional
//!   write (`retried_at`; the job no longer dead-lettered), so of two
//!   retries at once one sends it; a user sent again less than
//!   [`RETRY_COOLDOWN_SECONDS`] ago is skipped, so a second click right
//!   after the first sends nothing, even when the first one's job already
//!   failed again. Within one retry a user is sent at most once, whatever
//!   happens to it meanwhile.
//! - **An honest answer.** How many users and emails were sent again, how
//!   many were skipped as just retried, and for `out_of_licenses` whether
//!   the product API still lacks the seats (read before anything is sent).

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;

use crate::StoreError;
use crate::ids::{OrgId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::ports::{JobQueue, MailQueue, ProductApi, Seats, SyncState};
use crate::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, Outcome, SyncStatus,
};

/// A user (or a welcome email) sent again less than this long ago is not
/// sent again: the job of the last retry is on its way, or just failed the
/// same way.
pub const RETRY_COOLDOWN_SECONDS: i64 = 60;

/// Failed users read per page.
const PAGE: usize = 100;

/// Which failures of the organization a retry sends again; `None` fields
/// select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetrySelection {
    /// `email_failed` selects welcome emails; any other class, jobs.
    pub class: Option<FailureClass>,
    pub user: Option<UserId>,
}

impl RetrySelection {
    fn jobs(&self) -> bool {
        self.class != Some(FailureClass::EmailFailed)
    }

    fn emails(&self) -> bool {
        self.class.is_none_or(|c| c == FailureClass::EmailFailed)
    }

    fn selects(&self, failure: &Failure) -> bool {
        self.class.is_none_or(|c| c == failure.class)
    }
}

/// A product the product API still has too few free seats of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatShortage {
    pub product: String,
    /// Seats in use, as the product API reports them.
    pub used: u64,
    /// Seats bought.
    pub limit: u64,
    /// Users of the selection that failed for lack of it.
    pub users: u64,
}

/// What a retry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryReport {
    /// Users whose job was sent again (one job each).
    pub jobs: usize,
    /// Welcome emails sent again.
    pub emails: usize,
    /// Users and emails not sent: sent again less than a minute ago.
    pub skipped: usize,
    /// The organization's failed users looked at (its own failures only).
    pub examined: usize,
    /// Every selected failure was looked at; `false` when the time ran out
    /// first: retry again for the rest (those sent now are skipped).
    pub complete: bool,
    /// The cause of an `out_of_licenses` failure is still there: the product
    /// API reports fewer free seats than the failed users need. Those users
    /// will fail again.
    pub cause_still_present: bool,
    /// The products still short of seats.
    pub shortages: Vec<SeatShortage>,
    /// What to tell the admin.
    pub message: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl RetryReport {
    fn describe(&self) -> String {
        let sent = match (self.jobs, self.emails) {
            (0, 0) => None,
            (j, 0) => Some(format!("{} sent again", plural(j, "user", "users"))),
            (0, e) => Some(format!(
                "{} sent again",
                plural(e, "welcome email", "welcome emails")
            )),
            (j, e) => Some(format!(
                "{} and {} sent again",
                plural(j, "user", "users"),
                plural(e, "welcome email", "welcome emails")
            )),
        };
        let mut parts = Vec::new();
        match (sent, self.skipped) {
            (None, 0) => parts.push("nothing to retry: no failure waits for Retry sync".to_owned()),
            (None, s) => parts.push(format!(
                "nothing sent: {} sent again less than a minute ago; retry again in a minute",
                plural(s, "failure was", "failures were")
            )),
            (Some(sent), 0) => parts.push(sent),
            (Some(sent), s) => {
                parts.push(sent);
                parts.push(format!(
                    "{} skipped: sent again less than a minute ago",
                    plural(s, "failure", "failures")
                ));
            }
        }
        for s in &self.shortages {
            if s.used >= s.limit {
                parts.push(format!(
                    "still out of {} licenses: {} of {} in use",
                    s.product, s.used, s.limit
                ));
            } else {
                parts.push(format!(
                    "still too few {} licenses: {} of {} in use, {} needed",
                    s.product,
                    s.used,
                    s.limit,
                    plural(
                        usize::try_from(s.users).unwrap_or(usize::MAX),
                        "user",
                        "users"
                    )
                ));
            }
        }
        if !self.complete {
            parts.push("more failures remain: retry again to send the rest".to_owned());
        }
        parts.join("; ")
    }
}

/// What a retry does for one user whose job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRetry {
    /// Record `marked` as the user's status, then send `job`.
    Send {
        marked: Box<SyncStatus>,
        job: EntitlementJob,
    },
    /// Sent again less than [`RETRY_COOLDOWN_SECONDS`] ago.
    JustRetried,
    /// Nothing waits for Retry sync: the user recovered, or its job is on
    /// its way or retried automatically, or it has nothing to apply.
    NotWaiting,
}

/// Decides what a retry at `at` does for a user, given its stored desired
/// state and status; `since` is `at` less the cooldown, `class` the
/// selection's.
pub fn job_retry(
    org: &OrgId,
    user: &UserId,
    desired: Option<&DesiredState>,
    status: Option<&SyncStatus>,
    class: Option<FailureClass>,
    at: &str,
    since: &str,
) -> JobRetry {
    let Some(status) = status.filter(|s| s.last_outcome == Outcome::Failure) else {
        return JobRetry::NotWaiting;
    };
    if class.is_some_and(|c| status.failure.as_ref().map(|f| f.class) != Some(c)) {
        return JobRetry::NotWaiting;
    }
    if status.retried_at.as_deref().is_some_and(|r| r >= since) {
        return JobRetry::JustRetried;
    }
    if !status.dead_lettered {
        return JobRetry::NotWaiting;
    }
    let Some(desired) = desired.filter(|d| !d.facts.handed_over && d.generation > 0) else {
        return JobRetry::NotWaiting;
    };
    JobRetry::Send {
        marked: Box::new(SyncStatus {
            dead_lettered: false,
            retried_at: Some(at.to_owned()),
            ..status.clone()
        }),
        job: EntitlementJob {
            org_id: org.clone(),
            user_id: user.clone(),
            generation: desired.generation,
            deferrals: 0,
        },
    }
}

/// What a retry does for one welcome-email failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRetry {
    /// Record the retry on the failure, then send this welcome email.
    Send(MailJob),
    /// Sent again less than [`RETRY_COOLDOWN_SECONDS`] ago.
    JustRetried,
    /// No desired state to build the email from.
    NotWaiting,
}

/// Decides what a retry does for a welcome-email failure; `since` is the
/// retry's time less the cooldown.
pub fn email_retry(
    org: &OrgId,
    failed: &FailedUser,
    desired: Option<&DesiredState>,
    since: &str,
) -> EmailRetry {
    if failed.retried_at.as_deref().is_some_and(|r| r >= since) {
        return EmailRetry::JustRetried;
    }
    match desired {
        Some(d) => EmailRetry::Send(MailJob::welcome(org, &failed.user_id, d)),
        None => EmailRetry::NotWaiting,
    }
}

/// The products of the selected `out_of_licenses` failures whose free seats
/// (by `seats`) are fewer than the users that need one: `needed` is each
/// failure's count of users, or 1 when one user is retried.
pub fn shortages(
    failures: &[FailureCount],
    seats: &BTreeMap<String, Seats>,
    one_user: bool,
) -> Vec<SeatShortage> {
    failures
        .iter()
        .filter(|c| c.failure.class == FailureClass::OutOfLicenses)
        .filter_map(|c| {
            let product = c.failure.product.as_ref()?;
            let s = seats.get(product)?;
            // a product without a limit never runs out
            let limit = s.limit?;
            let needed = if one_user { 1 } else { c.users };
            (limit.saturating_sub(s.used) < needed).then(|| SeatShortage {
                product: product.clone(),
                used: s.used,
                limit,
                users: needed,
            })
        })
        .collect()
}

/// Retry sync for one organization, over its ports.
pub struct Retry<'a, S, Q, M, P> {
    pub state: &'a S,
    pub jobs: &'a Q,
    pub mail: &'a M,
    pub product_api: &'a P,
}

/// One retry under way.
struct Run<'r> {
    org: &'r OrgId,
    selection: &'r RetrySelection,
    at: String,
    since: String,
    deadline: Instant,
    report: RetryReport,
    /// Users whose job this retry sent; users whose email it sent.
    sent_jobs: HashSet<UserId>,
    sent_emails: HashSet<UserId>,
}

impl<S, Q, M, P> Retry<'_, S, Q, M, P>
where
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
{
    /// Sends the organization's selected failures again (see the module),
    /// at `now`, looking at failures until `deadline`.
    pub async fn run(
        &self,
        org: &OrgId,
        selection: &RetrySelection,
        now: OffsetDateTime,
        deadline: Instant,
    ) -> Result<RetryReport, StoreError> {
        let since = now - time::Duration::seconds(RETRY_COOLDOWN_SECONDS);
        let mut run = Run {
            org,
            selection,
            at: crate::time::format(now),
            since: crate::time::format(since),
            deadline,
            report: RetryReport {
                jobs: 0,
                emails: 0,
                skipped: 0,
                examined: 0,
                complete: true,
                cause_still_present: false,
                shortages: Vec::new(),
                message: String::new(),
            },
            sent_jobs: HashSet::new(),
            sent_emails: HashSet::new(),
        };
        let counts: Vec<FailureCount> = self
            .state
            .failure_counts(org)
            .await?
            .into_iter()
            .filter(|c| selection.selects(&c.failure))
            .collect();
        // whether the seats are still short, read before anything is sent
        // (a job sent now could take a seat freed meanwhile)
        run.report.shortages = self.shortages(&run, &counts).await?;
        run.report.cause_still_present = !run.report.shortages.is_empty();
        match &selection.user {
            Some(user) => self.one_user(&mut run, user).await?,
            None => {
                for count in &counts {
                    if Instant::now() >= run.deadline {
                        run.report.complete = false;
                        break;
                    }
                    self.failure(&mut run, &count.failure).await?;
                }
            }
        }
        run.report.message = run.report.describe();
        Ok(run.report)
    }

    /// The selected `out_of_licenses` products still short of seats. When
    /// the product API does not answer, none is reported.
    async fn shortages(
        &self,
        run: &Run<'_>,
        counts: &[FailureCount],
    ) -> Result<Vec<SeatShortage>, StoreError> {
        let relevant: Vec<FailureCount> = match &run.selection.user {
            None => counts.to_vec(),
            Some(user) => {
                let (_, status) = self.state.user_state(run.org, user).await?;
                counts
                    .iter()
                    .filter(|c| {
                        status.as_ref().and_then(|s| s.failure.as_ref()) == Some(&c.failure)
                    })
                    .cloned()
                    .collect()
            }
        };
        if !relevant
            .iter()
            .any(|c| c.failure.class == FailureClass::OutOfLicenses)
        {
            return Ok(Vec::new());
        }
        Ok(match self.product_api.seats(run.org).await {
            Ok(seats) => shortages(&relevant, &seats, run.selection.user.is_some()),
            Err(_) => Vec::new(),
        })
    }

    /// Retries one user: its job and its welcome email, as selected.
    async fn one_user(&self, run: &mut Run<'_>, user: &UserId) -> Result<(), StoreError> {
        let ids = [user.clone()];
        if run.selection.jobs() {
            let (_, status) = self.state.user_state(run.org, user).await?;
            if status
                .as_ref()
                .is_some_and(|s| s.last_outcome == Outcome::Failure)
            {
                run.report.examined += 1;
                self.jobs_of(run, &ids).await?;
            }
        }
        if run.selection.emails() {
            let failed: Vec<FailedUser> = self
                .state
                .email_failures(run.org, &ids)
                .await?
                .into_values()
                .collect();
            run.report.examined += failed.len();
            self.emails_of(run, &failed).await?;
        }
        Ok(())
    }

    /// Retries every user one failure affects, page by page.
    async fn failure(&self, run: &mut Run<'_>, failure: &Failure) -> Result<(), StoreError> {
        let mut after: Option<UserId> = None;
        loop {
            if Instant::now() >= run.deadline {
                run.report.complete = false;
                return Ok(());
            }
            let (page, next) = self
                .state
                .failed_users(run.org, failure, after.as_ref(), PAGE)
                .await?;
            run.report.examined += page.len();
            if failure.class == FailureClass::EmailFailed {
                self.emails_of(run, &page).await?;
            } else {
                let ids: Vec<UserId> = page.into_iter().map(|f| f.user_id).collect();
                self.jobs_of(run, &ids).await?;
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Sends the jobs of those of `users` that wait for Retry sync, each
    /// recorded on the user first.
    async fn jobs_of(&self, run: &mut Run<'_>, users: &[UserId]) -> Result<(), StoreError> {
        let users: Vec<UserId> = users
            .iter()
            .filter(|u| !run.sent_jobs.contains(*u))
            .cloned()
            .collect();
        if users.is_empty() {
            return Ok(());
        }
        let states = self.state.user_states(run.org, &users).await?;
        let mut jobs = Vec::new();
        // what each marked user's status was, to put back if the send fails
        let mut before = Vec::new();
        let mut failed = None;
        for user in &users {
            let (desired, status) = states
                .get(user)
                .map_or((None, None), |(d, s)| (d.as_ref(), s.as_ref()));
            let decision = job_retry(
                run.org,
                user,
                desired,
                status,
                run.selection.class,
                &run.at,
                &run.since,
            );
            let (marked, job) = match decision {
                JobRetry::Send { marked, job } => (marked, job),
                JobRetry::JustRetried => {
                    run.report.skipped += 1;
                    continue;
                }
                JobRetry::NotWaiting => continue,
            };
            match self
                .state
                .mark_retried(run.org, user, &marked, &run.since)
                .await
            {
                Ok(()) => {
                    jobs.push(job);
                    before.extend(status.cloned().map(|s| (user.clone(), s)));
                }
                // another retry sent it a moment ago (or it changed)
                Err(StoreError::Conflict(_)) => run.report.skipped += 1,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if !jobs.is_empty() {
            if let Err(e) = self.jobs.send_jobs(&jobs).await {
                // not sent: the users wait for Retry sync again. Best
                // effort: the send's error is the one to report, and a user
                // left marked still has its dead-lettered copy for ops.
                for (user, status) in &before {
                    if self
                        .state
                        .record_status(run.org, user, status)
                        .await
                        .is_err()
                    {
                        continue;
                    }
                }
                return Err(e);
            }
            run.report.jobs += jobs.len();
            run.sent_jobs.extend(jobs.into_iter().map(|j| j.user_id));
        }
        failed.map_or(Ok(()), Err)
    }

    /// Sends the welcome emails of these failures again, each recorded on
    /// the failure first.
    async fn emails_of(&self, run: &mut Run<'_>, failed: &[FailedUser]) -> Result<(), StoreError> {
        let failed: Vec<&FailedUser> = failed
            .iter()
            .filter(|f| !run.sent_emails.contains(&f.user_id))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        let ids: Vec<UserId> = failed.iter().map(|f| f.user_id.clone()).collect();
        let states = self.state.user_states(run.org, &ids).await?;
        for f in failed {
            let desired = states.get(&f.user_id).and_then(|(d, _)| d.as_ref());
            let mail = match email_retry(run.org, f, desired, &run.since) {
                EmailRetry::Send(mail) => mail,
                EmailRetry::JustRetried => {
                    run.report.skipped += 1;
                    continue;
                }
                EmailRetry::NotWaiting => continue,
            };
            match self
                .state
                .mark_email_retried(run.org, &f.user_id, &run.at, &run.since)
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => {
                    run.report.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            }
            // not sent: the failure stays, and is sent again once the
            // cooldown has passed
            self.mail.send_mail(&mail).await?;
            run.report.emails += 1;
            run.sent_emails.insert(f.user_id.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::*;
    use crate::directory::{DirectoryStatus, UserFacts};
    use crate::ids::{GroupId, RuleId};
    use crate::memory::{MemoryProductApi, MemoryStore};
    use crate::ports::{DesiredStates, FailureIndex, SyncOutcomes};
    use crate::rules::{Priority, Rule, effective_assignment};

    const T0: OffsetDateTime = time::macros::datetime!(2026-11-22 10:00:00 UTC);

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn user(id: &str) -> UserId {
        UserId::parse(id).unwrap()
    }

    fn desired(generation: u64, products: &[&str]) -> DesiredState {
        let rule = Rule {
            id: RuleId::parse("r").unwrap(),
            group_id: GroupId::parse("g").unwrap(),
            description: String::new(),
            priority: Priority::new(1).unwrap(),
            products: products.iter().map(|p| (*p).to_owned()).collect(),
            admin_role: None,
            user_group: None,
            device_groups: BTreeSet::new(),
            settings_template: None,
            email_template: Some("welcome-fr".into()),
            language: Some("fr".into()),
        };
        let groups = [GroupId::parse("g").unwrap()].into_iter().collect();
        DesiredState {
            generation,
            facts: UserFacts {
                status: DirectoryStatus::Active,
                email: "ada@example.com".into(),
                given_name: Some("Ada".into()),
                family_name: None,
                locale: None,
                account_key: None,
                relinked_from: None,
                handed_over: false,
            },
            assignment: effective_assignment(DirectoryStatus::Active, &groups, &[rule]),
            language: None,
            updated_at: "2026-11-22T09:00:00.000Z".into(),
            cause: None,
        }
    }

    fn failed(class: FailureClass, product: Option<&str>, dead_lettered: bool) -> SyncStatus {
        SyncStatus {
            applied_generation: 0,
            last_outcome: Outcome::Failure,
            failure: Some(Failure {
                class,
                product: product.map(str::to_owned),
                domain: None,
            }),
            attempts: 1,
            at: "2026-11-22T09:59:00.000Z".into(),
            dead_lettered,
            retried_at: None,
            failure_entry: None,
        }
    }

    struct World {
        store: MemoryStore,
        api: MemoryProductApi,
    }

    impl World {
        fn new() -> Self {
            Self {
                store: MemoryStore::default(),
                api: MemoryProductApi::default(),
            }
        }

        /// A user of `o` at desired generation `generation`, with `status`.
        fn user(&self, o: &str, u: &str, generation: u64, status: Option<SyncStatus>) {
            let rt = runtime();
            rt.block_on(async {
                self.store
                    .put_desired(&org(o), &user(u), &desired(generation, &["G2W"]), None)
                    .await
                    .unwrap();
                if let Some(s) = status {
                    self.store
                        .record_status(&org(o), &user(u), &s)
                        .await
                        .unwrap();
                }
            });
        }

        fn seats(&self, product: &str, used: u64, limit: u64) {
            self.api.seats.lock().unwrap().insert(
                product.to_owned(),
                Seats {
                    limit: Some(limit),
                    used,
                },
            );
        }

        fn retry_at(&self, o: &str, selection: RetrySelection, now: OffsetDateTime) -> RetryReport {
            let retry = Retry {
                state: &self.store,
                jobs: &self.store,
                mail: &self.store,
                product_api: &self.api,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            runtime()
                .block_on(retry.run(&org(o), &selection, now, deadline))
                .unwrap()
        }

        fn retry(&self, o: &str, selection: RetrySelection) -> RetryReport {
            self.retry_at(o, selection, T0)
        }

        fn status(&self, o: &str, u: &str) -> SyncStatus {
            runtime()
                .block_on(self.store.user_state(&org(o), &user(u)))
                .unwrap()
                .1
                .unwrap()
        }

        /// The worker: the job failed again the same way.
        fn fails_again(&self, o: &str, u: &str) {
            let again = SyncStatus {
                dead_lettered: true,
                attempts: self.status(o, u).attempts + 1,
                ..self.status(o, u)
            };
            runtime()
                .block_on(self.store.record_status(&org(o), &user(u), &again))
                .unwrap();
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn everything() -> RetrySelection {
        RetrySelection::default()
    }

    #[test]
    fn each_dead_lettered_user_is_sent_once_at_its_current_generation() {
        let w = World::new();
        let short = failed(FailureClass::OutOfLicenses, Some("G2W"), true);
        w.user("acme", "u1", 3, Some(short.clone()));
        w.user(
            "acme",
            "u2",
            1,
            Some(failed(FailureClass::ExistingAccount, None, true)),
        );
        // retried automatically, not dead-lettered: its job is on its way
        w.user(
            "acme",
            "u3",
            1,
            Some(failed(FailureClass::ProductApiUnavailable, None, false)),
        );
        w.user("acme", "u4", 1, None);

        let r = w.retry("acme", everything());
        assert_eq!((r.jobs, r.emails, r.skipped, r.examined), (2, 0, 0, 3));
        assert!(r.complete);
        let jobs = w.store.take_jobs();
        let sent: Vec<(&str, u64)> = jobs
            .iter()
            .map(|j| (j.user_id.as_str(), j.generation))
            .collect();
        assert_eq!(sent, [("u1", 3), ("u2", 1)]);
        assert!(jobs.iter().all(|j| j.org_id == org("acme")));
        // recorded on the user before it was sent
        let u1 = w.status("acme", "u1");
        assert!(!u1.dead_lettered);
        assert_eq!(u1.retried_at.as_deref(), Some("2026-11-22T10:00:00.000Z"));
        assert_eq!(u1.failure, short.failure);
        assert_eq!(r.message, "2 users sent again");
    }

    #[test]
    fn a_second_click_sends_nothing_even_when_the_first_job_failed_again() {
        let w = World::new();
        w.user(
            "acme",
            "u1",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        assert_eq!(w.retry("acme", everything()).jobs, 1);
        w.store.take_jobs();

        // at once: the job is on its way
        let second = w.retry_at("acme", everything(), T0 + time::Duration::seconds(1));
        assert_eq!((second.jobs, second.skipped), (0, 1));
        // it failed again (dead-lettered again, the retry's time kept)
        w.fails_again("acme", "u1");
        let third = w.retry_at("acme", everything(), T0 + time::Duration::seconds(59));
        assert_eq!((third.jobs, third.skipped), (0, 1));
        assert!(
            third
                .message
                .starts_with("nothing sent: 1 failure was sent again less than a minute ago"),
            "{}",
            third.message
        );
        assert!(w.store.take_jobs().is_empty());

        // a minute on, it is sent again
        let later = w.retry_at("acme", everything(), T0 + time::Duration::seconds(61));
        assert_eq!((later.jobs, later.skipped), (1, 0));
    }

    #[test]
    fn a_user_another_retry_took_a_moment_ago_is_skipped() {
        let w = World::new();
        let status = failed(FailureClass::OutOfLicenses, Some("G2W"), true);
        w.user("acme", "u1", 1, Some(status.clone()));
        // the user's status was read, then another retry marked it
        let decided = job_retry(
            &org("acme"),
            &user("u1"),
            Some(&desired(1, &["G2W"])),
            Some(&status),
            None,
            "2026-11-22T10:00:00.000Z",
            "2026-11-22T09:59:00.000Z",
        );
        let JobRetry::Send { marked, .. } = decided else {
            panic!("{decided:?}");
        };
        let rt = runtime();
        let mark = |at: &str| {
            rt.block_on(w.store.mark_retried(
                &org("acme"),
                &user("u1"),
                &SyncStatus {
                    retried_at: Some(at.to_owned()),
                    ..(*marked).clone()
                },
                "2026-11-22T09:59:00.000Z",
            ))
        };
        assert!(mark("2026-11-22T10:00:00.000Z").is_ok());
        assert!(matches!(
            mark("2026-11-22T10:00:00.001Z"),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn a_retry_sees_its_own_organization_only() {
        let w = World::new();
        w.user(
            "other",
            "u9",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        let r = w.retry("acme", everything());
        assert_eq!((r.jobs, r.examined, r.skipped), (0, 0, 0));
        assert_eq!(
            r.message,
            "nothing to retry: no failure waits for Retry sync"
        );
        assert!(w.store.take_jobs().is_empty());
        // the other organization's own retry sends its user at once
        assert_eq!(w.retry("other", everything()).jobs, 1);
    }

    #[test]
    fn a_class_or_a_user_selects_only_those() {
        let w = World::new();
        w.user(
            "acme",
            "u1",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        w.user(
            "acme",
            "u2",
            1,
            Some(failed(FailureClass::ExistingAccount, None, true)),
        );
        w.user(
            "acme",
            "u3",
            1,
            Some(failed(FailureClass::ExistingAccount, None, true)),
        );
        let r = w.retry(
            "acme",
            RetrySelection {
                class: Some(FailureClass::ExistingAccount),
                user: None,
            },
        );
        assert_eq!((r.jobs, r.examined), (2, 2));
        let r = w.retry(
            "acme",
            RetrySelection {
                class: None,
                user: Some(user("u1")),
            },
        );
        assert_eq!((r.jobs, r.examined), (1, 1));
        let sent: BTreeSet<String> = w
            .store
            .take_jobs()
            .into_iter()
            .map(|j| j.user_id.to_string())
            .collect();
        assert_eq!(
            sent,
            BTreeSet::from(["u1".into(), "u2".into(), "u3".into()])
        );
        // a user with no failure of that class: nothing
        let r = w.retry(
            "acme",
            RetrySelection {
                class: Some(FailureClass::InvalidUserData),
                user: Some(user("u1")),
            },
        );
        assert_eq!(r.jobs, 0);
    }

    #[test]
    fn out_of_licenses_says_whether_the_seats_are_still_short() {
        let w = World::new();
        w.user(
            "acme",
            "u1",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        w.seats("G2W", 9, 9);
        let r = w.retry("acme", everything());
        assert_eq!(r.jobs, 1);
        assert!(r.cause_still_present);
        assert_eq!(
            r.shortages,
            [SeatShortage {
                product: "G2W".into(),
                used: 9,
                limit: 9,
                users: 1
            }]
        );
        assert_eq!(
            r.message,
            "1 user sent again; still out of G2W licenses: 9 of 9 in use"
        );

        // more seats: the cause is gone
        w.fails_again("acme", "u1");
        w.seats("G2W", 9, 10);
        let later = w.retry_at("acme", everything(), T0 + time::Duration::seconds(120));
        assert!(!later.cause_still_present && later.shortages.is_empty());
        assert_eq!(later.message, "1 user sent again");
    }

    #[test]
    fn too_few_seats_for_every_failed_user_is_still_the_cause() {
        let w = World::new();
        for u in ["u1", "u2", "u3"] {
            w.user(
                "acme",
                u,
                1,
                Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
            );
        }
        w.seats("G2W", 9, 10);
        let r = w.retry("acme", everything());
        assert!(r.cause_still_present);
        assert!(
            r.message
                .ends_with("still too few G2W licenses: 9 of 10 in use, 3 users needed"),
            "{}",
            r.message
        );
        // one user alone fits
        let w = World::new();
        w.user(
            "acme",
            "u1",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        w.user(
            "acme",
            "u2",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        w.seats("G2W", 9, 10);
        let one = w.retry(
            "acme",
            RetrySelection {
                class: None,
                user: Some(user("u1")),
            },
        );
        assert!(!one.cause_still_present, "{one:?}");
    }

    #[test]
    fn unknown_seats_are_not_reported_as_a_cause() {
        let mut w = World::new();
        w.api.down = true;
        w.user(
            "acme",
            "u1",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        let r = w.retry("acme", everything());
        assert_eq!((r.jobs, r.cause_still_present), (1, false));
    }

    #[test]
    fn a_failed_welcome_email_is_rebuilt_from_the_desired_state_and_sent_once() {
        let w = World::new();
        w.user("acme", "u1", 2, None);
        let rt = runtime();
        rt.block_on(w.store.record_email_failure(
            &org("acme"),
            &user("u1"),
            Some("MessageRejected"),
        ))
        .unwrap();
        let r = w.retry(
            "acme",
            RetrySelection {
                class: Some(FailureClass::EmailFailed),
                user: None,
            },
        );
        assert_eq!((r.jobs, r.emails, r.examined), (0, 1, 1));
        assert_eq!(r.message, "1 welcome email sent again");
        let mails = w.store.take_mails();
        assert_eq!(
            mails,
            [MailJob::welcome(
                &org("acme"),
                &user("u1"),
                &desired(2, &["G2W"])
            )]
        );
        assert_eq!(mails[0].template.as_deref(), Some("welcome-fr"));
        assert_eq!(mails[0].language.as_deref(), Some("fr"));
        // a second click: skipped
        let again = w.retry_at("acme", everything(), T0 + time::Duration::seconds(5));
        assert_eq!((again.emails, again.skipped), (0, 1));
        assert!(w.store.take_mails().is_empty());
    }

    #[test]
    fn a_retry_out_of_time_sends_nothing_more_and_says_so() {
        let w = World::new();
        w.user(
            "acme",
            "u1",
            1,
            Some(failed(FailureClass::OutOfLicenses, Some("G2W"), true)),
        );
        let retry = Retry {
            state: &w.store,
            jobs: &w.store,
            mail: &w.store,
            product_api: &w.api,
        };
        let r = runtime()
            .block_on(retry.run(&org("acme"), &everything(), T0, Instant::now()))
            .unwrap();
        assert_eq!((r.jobs, r.complete), (0, false));
        assert!(r.message.contains("retry again"), "{}", r.message);
    }

    /// Queues that refuse everything.
    struct Down;

    impl JobQueue for Down {
        async fn send_jobs(&self, _jobs: &[EntitlementJob]) -> Result<(), StoreError> {
            Err(StoreError::transient(std::io::Error::other("queue down")))
        }

        async fn dead_letter(
            &self,
            _job: &EntitlementJob,
            _class: FailureClass,
        ) -> Result<(), StoreError> {
            Err(StoreError::transient(std::io::Error::other("queue down")))
        }

        async fn retry_after(
            &self,
            _delivery: &crate::ports::DeliveryToken,
            _seconds: u32,
        ) -> Result<(), StoreError> {
            Err(StoreError::transient(std::io::Error::other("queue down")))
        }

        async fn defer(&self, _job: &EntitlementJob, _seconds: u32) -> Result<(), StoreError> {
            Err(StoreError::transient(std::io::Error::other("queue down")))
        }
    }

    #[test]
    fn a_job_the_queue_refused_still_waits_for_retry_sync() {
        let w = World::new();
        let status = failed(FailureClass::OutOfLicenses, Some("G2W"), true);
        w.user("acme", "u1", 1, Some(status.clone()));
        let retry = Retry {
            state: &w.store,
            jobs: &Down,
            mail: &w.store,
            product_api: &w.api,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let r = runtime().block_on(retry.run(&org("acme"), &everything(), T0, deadline));
        assert!(matches!(r, Err(StoreError::Transient(_))), "{r:?}");
        // as it was: the next click sends it
        assert_eq!(w.status("acme", "u1"), status);
        assert_eq!(w.retry("acme", everything()).jobs, 1);
    }

    #[test]
    fn a_user_with_nothing_to_apply_is_not_sent() {
        let mut taken = desired(1, &["G2W"]);
        taken.facts.handed_over = true;
        let status = failed(FailureClass::ExistingAccount, None, true);
        let d = job_retry(
            &org("acme"),
            &user("u1"),
            Some(&taken),
            Some(&status),
            None,
            "2026-11-22T10:00:00.000Z",
            "2026-11-22T09:59:00.000Z",
        );
        assert_eq!(d, JobRetry::NotWaiting);
        assert_eq!(
            job_retry(
                &org("acme"),
                &user("u1"),
                None,
                Some(&status),
                None,
                "2026-11-22T10:00:00.000Z",
                "2026-11-22T09:59:00.000Z",
            ),
            JobRetry::NotWaiting
        );
    }
}
