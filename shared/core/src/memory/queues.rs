//! The jobs and mail queues and their dead letters, in memory.

use super::*;

impl JobQueue for MemoryStore {
    async fn send_jobs(&self, jobs: &[EntitlementJob]) -> Result<(), StoreError> {
        self.tables().jobs.extend_from_slice(jobs);
        Ok(())
    }

    async fn dead_letter(
        &self,
        job: &EntitlementJob,
        class: FailureClass,
    ) -> Result<(), StoreError> {
        self.tables().dead_jobs.push((job.clone(), class));
        Ok(())
    }

    async fn retry_after(&self, delivery: &DeliveryToken, seconds: u32) -> Result<(), StoreError> {
        self.tables().delays.push((delivery.clone(), seconds));
        Ok(())
    }

    async fn defer(&self, job: &EntitlementJob, _seconds: u32) -> Result<(), StoreError> {
        self.tables().jobs.push(job.clone());
        Ok(())
    }
}

impl MailQueue for MemoryStore {
    async fn send_mail(&self, job: &MailJob) -> Result<(), StoreError> {
        self.tables().mails.push(job.clone());
        Ok(())
    }

    async fn dead_letter_mail(&self, job: &MailJob) -> Result<(), StoreError> {
        self.tables().dead_mails.push(job.clone());
        Ok(())
    }
}

impl DeadLetters for MemoryStore {
    async fn redrive(
        &self,
        selection: &RedriveSelection,
        _budget: std::time::Duration,
    ) -> Result<RedriveReport, StoreError> {
        let mut guard = self.tables();
        let t = &mut *guard;
        let mut report = RedriveReport {
            examined: t.dead_jobs.len() + t.dead_mails.len(),
            complete: true,
            ..RedriveReport::default()
        };
        let (moved, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut t.dead_jobs)
            .into_iter()
            .partition(|(job, class)| {
                selection.jobs()
                    && selection.selects(
                        Some(job.org_id.as_str()),
                        Some(job.user_id.as_str()),
                        *class,
                    )
            });
        t.dead_jobs = kept;
        report.jobs = moved.len();
        t.jobs.extend(moved.into_iter().map(|(job, _)| job));
        let (moved, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut t.dead_mails)
            .into_iter()
            .partition(|m| {
                selection.emails()
                    && selection.selects(
                        Some(m.org_id.as_str()),
                        Some(m.user_id.as_str()),
                        FailureClass::EmailFailed,
                    )
            });
        t.dead_mails = kept;
        report.emails = moved.len();
        t.mails.extend(moved);
        Ok(report)
    }
}
