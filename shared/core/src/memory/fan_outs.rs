//! Fan-out tasks, in memory.

use super::*;

impl FanOuts for MemoryStore {
    async fn start_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            o.fan_outs
                .entry(task.id.clone())
                .or_insert_with(|| task.clone());
        });
        Ok(())
    }

    async fn get_fan_out(&self, org: &OrgId, id: &str) -> Result<Option<FanOutTask>, StoreError> {
        Ok(self.with_org(org, |o| o.fan_outs.get(id).cloned()))
    }

    async fn advance_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.fan_outs.get_mut(&task.id) {
            Some(stored) if stored.chunk.checked_add(1) == Some(task.chunk) => {
                *stored = task.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict("the task moved on".to_owned())),
        })
    }

    async fn running_fan_outs(
        &self,
        org: &OrgId,
        limit: usize,
    ) -> Result<Vec<FanOutTask>, StoreError> {
        let mut running: Vec<FanOutTask> = self.with_org(org, |o| {
            o.fan_outs.values().filter(|t| !t.done).cloned().collect()
        });
        running.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        running.truncate(limit);
        Ok(running)
    }
}
