//! Fan-out tasks.

use std::future::Future;

use crate::StoreError;
use crate::fanout::FanOutTask;
use crate::ids::OrgId;

/// Fan-out tasks: a rule change or sync-on processed in bounded chunks.
pub trait FanOuts: Sync {
    /// Starts a task. Starting one that exists (a replayed record) is
    /// harmless and changes nothing.
    fn start_fan_out(
        &self,
        org: &OrgId,
        task: &FanOutTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when there is no such task.
    fn get_fan_out(
        &self,
        org: &OrgId,
        id: &str,
    ) -> impl Future<Output = Result<Option<FanOutTask>, StoreError>> + Send;
    /// Stores a task's progress. MUST return `Conflict` unless the stored
    /// task is at chunk `task.chunk - 1` (another invocation advanced it).
    fn advance_fan_out(
        &self,
        org: &OrgId,
        task: &FanOutTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Tasks not done yet, oldest first (at most `limit`).
    fn running_fan_outs(
        &self,
        org: &OrgId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<FanOutTask>, StoreError>> + Send;
}
