//! Retry sync for one organization, over its ports.

use std::collections::HashSet;
use std::time::Instant;

use time::OffsetDateTime;

use super::{
    EmailRetry, JobRetry, PAGE, RETRY_COOLDOWN_SECONDS, RetryReport, RetrySelection, SeatShortage,
    email_retry, job_retry, shortages,
};
use crate::StoreError;
use crate::ids::{OrgId, UserId};
use crate::ports::{JobQueue, MailQueue, ProductApi, SyncState};
use crate::state::{FailedUser, Failure, FailureClass, FailureCount, Outcome};

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
