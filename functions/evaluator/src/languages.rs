//! The organizations' default languages as a warm instance keeps them: read
//! with an organization's first batch, then kept for [`KEPT_FOR`]. A change
//! of the default reaches an account at the user's next reconcile anyway
//! (docs/rules.md), so a default read a few minutes ago is as good as one
//! read now. Rules are kept only while their version holds
//! ([`crate::kept_rules`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use user_sync_core::StoreError;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::Organizations;

/// How long a default language read is kept.
pub const KEPT_FOR: Duration = Duration::from_secs(300);

/// The default languages read, by organization (`None`: no such
/// organization), with when they were read.
#[derive(Debug, Default)]
pub struct DefaultLanguages {
    kept: Mutex<HashMap<OrgId, (Instant, Option<String>)>>,
}

impl DefaultLanguages {
    /// The organization's default language: kept, or read through `orgs`
    /// (a failed read is not kept).
    pub async fn of<O: Organizations>(
        &self,
        orgs: &O,
        org: &OrgId,
    ) -> Result<Option<String>, StoreError> {
        if let Some(language) = self.kept(org, Instant::now()) {
            return Ok(language);
        }
        let language = orgs.get_org(org).await?.map(|o| o.default_language);
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(org.clone(), (Instant::now(), language.clone()));
        Ok(language)
    }

    /// What is kept of `org` and still fresh at `now`.
    fn kept(&self, org: &OrgId, now: Instant) -> Option<Option<String>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get(org)
            .filter(|(at, _)| now.saturating_duration_since(*at) < KEPT_FOR)
            .map(|(_, language)| language.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use user_sync_core::memory::MemoryStore;
    use user_sync_core::ports::Organization;

    #[tokio::test]
    async fn read_once_then_kept_until_it_is_old() {
        let store = MemoryStore::default();
        let acme = OrgId::parse("acme").unwrap();
        store
            .create_org(&Organization::new(
                acme.clone(),
                "Acme",
                "2026-12-06T09:00:00.000Z",
            ))
            .await
            .unwrap();
        let languages = DefaultLanguages::default();
        assert_eq!(
            languages.of(&store, &acme).await.unwrap().as_deref(),
            Some("en")
        );
        // the default changed: what was read is kept for a while
        let mut org = store.get_org(&acme).await.unwrap().unwrap();
        org.default_language = "de".into();
        store.update_org(&org).await.unwrap();
        assert_eq!(
            languages.of(&store, &acme).await.unwrap().as_deref(),
            Some("en")
        );
        // read longer ago than it is kept for: read again
        let old = Instant::now().checked_sub(KEPT_FOR).unwrap();
        languages
            .kept
            .lock()
            .unwrap()
            .insert(acme.clone(), (old, Some("en".into())));
        assert_eq!(
            languages.of(&store, &acme).await.unwrap().as_deref(),
            Some("de")
        );
        // another organization: its own read
        let other = OrgId::parse("other").unwrap();
        assert_eq!(languages.of(&store, &other).await.unwrap(), None);
    }
}
