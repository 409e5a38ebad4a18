//! The activity history, in memory.

use super::*;

impl MemoryStore {
    /// Appends an entry to the organization's history, expiring after the
    /// retention in force now (the organization's own, else the store's).
    fn append(&self, o: &mut OrgTables, entry: &ActivityEntry) {
        let days = o
            .org
            .as_ref()
            .and_then(|org| org.activity_retention_days)
            .unwrap_or(self.activity_retention_days);
        // as the StateTable does: from the entry's own time when it has one
        let at = crate::time::parse(&entry.at).map_or_else(
            || self.now().unix_timestamp(),
            OffsetDateTime::unix_timestamp,
        );
        let expires = crate::activity::expires_at(at, days);
        o.activity
            .insert(entry.id.clone(), (entry.clone(), expires));
    }

    /// Runs `f` on the organization's data, then appends `entry` to its
    /// history if `f` succeeded: both or neither.
    pub(super) fn with_activity<T>(
        &self,
        org: &OrgId,
        entry: &ActivityEntry,
        f: impl FnOnce(&mut OrgTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_org(org, |o| {
            let out = f(o)?;
            self.append(o, entry);
            Ok(out)
        })
    }
}

impl ActivityLog for MemoryStore {
    async fn append_activity(&self, org: &OrgId, entry: &ActivityEntry) -> Result<(), StoreError> {
        self.with_activity(org, entry, |_| Ok(()))
    }

    async fn activity(
        &self,
        org: &OrgId,
        filter: &ActivityFilter,
        before: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ActivityEntry>, Option<String>), StoreError> {
        let now = self.now().unix_timestamp();
        Ok(self.with_org(org, |o| {
            let upper = before.map_or(Bound::Unbounded, |b| Bound::Excluded(b.to_owned()));
            let mut wanted = o
                .activity
                .range((Bound::Unbounded, upper))
                .rev()
                .filter(|(_, (entry, expires))| *expires > now && filter.matches(entry))
                .map(|(_, (entry, _))| entry);
            let page: Vec<ActivityEntry> = wanted.by_ref().take(limit).cloned().collect();
            let next = wanted
                .next()
                .and_then(|_| page.last().map(|e| e.id.clone()));
            (page, next)
        }))
    }
}
