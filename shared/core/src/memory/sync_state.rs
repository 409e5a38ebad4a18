//! Desired states, outcomes and failures, in memory.

use super::*;

impl DesiredStates for MemoryStore {
    async fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<(Option<DesiredState>, Option<SyncStatus>), StoreError> {
        Ok(self.with_org(org, |o| {
            (o.desired.get(user).cloned(), o.statuses.get(user).cloned())
        }))
    }

    async fn user_states(&self, org: &OrgId, users: &[UserId]) -> Result<UserStates, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| {
                    let desired = o.desired.get(u).cloned();
                    let status = o.statuses.get(u).cloned();
                    (desired.is_some() || status.is_some()).then(|| (u.clone(), (desired, status)))
                })
                .collect()
        }))
    }

    async fn put_desired(
        &self,
        org: &OrgId,
        user: &UserId,
        state: &DesiredState,
        expected_generation: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            if o.desired.get(user).map(|d| d.generation) != expected_generation {
                return Err(StoreError::Conflict("the generation moved on".to_owned()));
            }
            o.desired.insert(user.clone(), state.clone());
            Ok(())
        })
    }

    async fn put_desired_many(
        &self,
        org: &OrgId,
        writes: &[DesiredWrite<'_>],
    ) -> Vec<Result<(), StoreError>> {
        let mut results = Vec::with_capacity(writes.len());
        for w in writes {
            results.push(
                self.put_desired(org, w.user, w.state, w.expected_generation)
                    .await,
            );
        }
        results
    }

    async fn sync_summaries(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, SyncSummary>, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| {
                    let summary = SyncSummary {
                        desired: o.desired.get(u).map(DesiredSummary::of),
                        status: o.statuses.get(u).cloned(),
                    };
                    (summary != SyncSummary::default()).then(|| (u.clone(), summary))
                })
                .collect()
        }))
    }
}

/// Whether `status` may be stored over `stored`: a success must be newer
/// than what was applied; a failure must not overwrite a newer success.
fn may_record(stored: Option<&SyncStatus>, status: &SyncStatus) -> Result<(), StoreError> {
    let Some(stored) = stored else {
        return Ok(());
    };
    let newer = match status.last_outcome {
        Outcome::Success => stored.applied_generation < status.applied_generation,
        Outcome::Failure => stored.applied_generation <= status.applied_generation,
    };
    if newer {
        Ok(())
    } else {
        Err(StoreError::Conflict("recorded before".to_owned()))
    }
}

impl SyncOutcomes for MemoryStore {
    async fn record_outcome(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
        entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        self.with_activity(org, entry, |o| {
            may_record(o.statuses.get(user), status)?;
            o.statuses.insert(user.clone(), status.clone());
            Ok(())
        })
    }

    async fn record_status(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            may_record(o.statuses.get(user), status)?;
            o.statuses.insert(user.clone(), status.clone());
            Ok(())
        })
    }

    async fn mark_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        marked: &SyncStatus,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let waiting = o.statuses.get(user).is_some_and(|s| {
                s.last_outcome == Outcome::Failure
                    && s.failure.is_some()
                    && s.applied_generation == marked.applied_generation
                    && s.retried_at
                        .as_deref()
                        .is_none_or(|r| r < not_retried_since)
            });
            if !waiting {
                return Err(StoreError::Conflict("retried or changed".to_owned()));
            }
            o.statuses.insert(user.clone(), marked.clone());
            Ok(())
        })
    }
}

impl FailureIndex for MemoryStore {
    async fn failure_counts(&self, org: &OrgId) -> Result<Vec<FailureCount>, StoreError> {
        Ok(self.with_org(org, |o| {
            let of_jobs = o.statuses.values().filter_map(|s| {
                s.failure
                    .clone()
                    .filter(|_| s.last_outcome == Outcome::Failure)
                    .map(|f| (f, 1))
            });
            let of_emails = (!o.mail_failures.is_empty()).then(|| {
                (
                    Failure::of(FailureClass::EmailFailed),
                    u64::try_from(o.mail_failures.len()).unwrap_or(u64::MAX),
                )
            });
            FailureCount::tally(of_jobs.chain(of_emails))
        }))
    }

    async fn failed_users(
        &self,
        org: &OrgId,
        failure: &Failure,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<FailedUser>, Option<UserId>), StoreError> {
        Ok(self.with_org(org, |o| {
            let failed: BTreeMap<UserId, FailedUser> = o
                .failed(failure)
                .into_iter()
                .map(|f| (f.user_id.clone(), f))
                .collect();
            page(failed.range::<UserId, _>(self::after(after)), limit)
        }))
    }

    async fn email_failures(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, FailedUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| o.mail_failures.get(u).map(|f| (u.clone(), f.clone())))
                .collect()
        }))
    }

    async fn record_email_failure(
        &self,
        org: &OrgId,
        user: &UserId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = crate::time::format(self.now());
        self.with_org(org, |o| match reason {
            None => {
                o.mail_failures.remove(user);
            }
            Some(_) => {
                let f = o
                    .mail_failures
                    .entry(user.clone())
                    .or_insert_with(|| FailedUser {
                        user_id: user.clone(),
                        failure: Failure::of(FailureClass::EmailFailed),
                        attempts: 0,
                        at: now.clone(),
                        retried_at: None,
                    });
                f.attempts += 1;
                f.at = now;
            }
        });
        Ok(())
    }

    async fn mark_email_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        at: &str,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.mail_failures.get_mut(user) {
            Some(f)
                if f.retried_at
                    .as_deref()
                    .is_none_or(|r| r < not_retried_since) =>
            {
                f.retried_at = Some(at.to_owned());
                Ok(())
            }
            _ => Err(StoreError::Conflict("retried or gone".to_owned())),
        })
    }
}
