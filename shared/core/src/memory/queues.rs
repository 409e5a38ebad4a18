//! The jobs and mail queues, in memory.

use super::*;

impl JobQueue for MemoryStore {
    async fn send_jobs(&self, jobs: &[EntitlementJob]) -> Result<(), StoreError> {
        self.tables().jobs.extend_from_slice(jobs);
        Ok(())
    }

    async fn dead_letter(
        &self,
        _job: &EntitlementJob,
        _class: FailureClass,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn retry_after(&self, _receipt_handle: &str, _seconds: u32) -> Result<(), StoreError> {
        Err(unsupported())
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

    async fn dead_letter_mail(&self, _job: &MailJob) -> Result<(), StoreError> {
        Err(unsupported())
    }
}
