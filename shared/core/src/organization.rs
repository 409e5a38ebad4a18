//! Changing an organization's settings without losing another writer's
//! change. Every write of the organization is conditional on the version it
//! was read at ([`Organizations::update_org`]), so two writers of different
//! settings never overwrite each other: the later one reads again and
//! applies its change on top. The settings admins replace as a whole (the
//! catalogue, the custom attributes, the activity retention) each have a
//! version of their own, their `ETag`: a write naming another version
//! (`If-Match`) is [`Stale`], and a change of one setting does not make the
//! others' ETags stale.

use crate::error::StoreError;
use crate::ids::OrgId;
use crate::ports::{Organization, Organizations};

/// A setting an admin replaces as a whole, with `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Catalog,
    CustomAttributes,
    ActivityRetention,
    DriftCheck,
}

/// The version of each [`Setting`]: 0 until it is first changed, then one
/// more with every change, by an admin or by ops.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SettingVersions {
    #[serde(default)]
    pub catalog: u64,
    #[serde(default)]
    pub custom_attributes: u64,
    #[serde(default)]
    pub activity_retention: u64,
    #[serde(default)]
    pub drift_check: u64,
}

impl SettingVersions {
    /// The setting's version: its ETag.
    pub fn get(&self, setting: Setting) -> u64 {
        match setting {
            Setting::Catalog => self.catalog,
            Setting::CustomAttributes => self.custom_attributes,
            Setting::ActivityRetention => self.activity_retention,
            Setting::DriftCheck => self.drift_check,
        }
    }

    /// Whether `expected` (the version `If-Match` names; `None` for `*`)
    /// is the setting's version.
    pub fn check(&self, setting: Setting, expected: Option<u64>) -> Result<(), Stale> {
        match expected {
            Some(v) if v != self.get(setting) => Err(Stale),
            _ => Ok(()),
        }
    }

    fn bump(&mut self, setting: Setting) {
        let v = match setting {
            Setting::Catalog => &mut self.catalog,
            Setting::CustomAttributes => &mut self.custom_attributes,
            Setting::ActivityRetention => &mut self.activity_retention,
            Setting::DriftCheck => &mut self.drift_check,
        };
        *v = v.saturating_add(1);
    }
}

/// The setting is no longer at the version the write names: someone else
/// changed it since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("changed by someone else since it was read")]
pub struct Stale;

impl From<Stale> for StoreError {
    fn from(_: Stale) -> Self {
        StoreError::Conflict(Stale.to_string())
    }
}

/// Why an organization was not changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// There is no such organization.
    #[error("no such organization")]
    NotFound,
    /// The change refused itself (invalid, or [`Stale`]).
    #[error("refused")]
    Refused(E),
    /// Storage failed, or other writers kept winning for
    /// [`UPDATE_ATTEMPTS`] reads.
    #[error(transparent)]
    Store(StoreError),
}

/// Reads of the organization a change is applied to before it gives up
/// when other writers keep changing it in between.
pub const UPDATE_ATTEMPTS: usize = 3;

/// Reads the organization, applies `change` and writes it back
/// conditionally on the version read; when another writer got there first,
/// reads it again and applies `change` to what that writer stored. `change`
/// answers whether it changed anything: nothing is written when it did not.
/// Answers the organization as stored.
pub async fn update_organization<O, E>(
    store: &O,
    id: &OrgId,
    mut change: impl FnMut(&mut Organization) -> Result<bool, E>,
) -> Result<Organization, UpdateError<E>>
where
    O: Organizations,
{
    let mut attempt = 1;
    loop {
        let mut org = store
            .get_org(id)
            .await
            .map_err(UpdateError::Store)?
            .ok_or(UpdateError::NotFound)?;
        if !change(&mut org).map_err(UpdateError::Refused)? {
            return Ok(org);
        }
        match store.update_org(&org).await {
            Ok(()) => {
                org.version += 1;
                return Ok(org);
            }
            Err(StoreError::Conflict(_)) if attempt < UPDATE_ATTEMPTS => attempt += 1,
            Err(StoreError::NotFound) => return Err(UpdateError::NotFound),
            Err(e) => return Err(UpdateError::Store(e)),
        }
    }
}

/// Replaces one [`Setting`]: refused as [`Stale`] unless `expected` (the
/// version `If-Match` names; `None` for `*`, and for ops, whose writes are
/// unconditioned) is its current version; then `apply` changes it and
/// answers whether anything changed. A change adds one to the setting's
/// version; a write that changes nothing keeps it.
pub async fn change_setting<O, E>(
    store: &O,
    id: &OrgId,
    setting: Setting,
    expected: Option<u64>,
    mut apply: impl FnMut(&mut Organization) -> Result<bool, E>,
) -> Result<Organization, UpdateError<E>>
where
    O: Organizations,
    E: From<Stale>,
{
    update_organization(store, id, |org| {
        org.setting_versions.check(setting, expected)?;
        let changed = apply(org)?;
        if changed {
            org.setting_versions.bump(setting);
        }
        Ok(changed)
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::memory::MemoryStore;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn acme() -> OrgId {
        OrgId::parse("acme").unwrap()
    }

    async fn stored() -> MemoryStore {
        let store = MemoryStore::default();
        store
            .create_org(&Organization {
                id: acme(),
                name: "Acme".into(),
                default_language: "en".into(),
                created: "2026-01-01T00:00:00.000Z".into(),
                custom_attributes: Vec::new(),
                suspension_guardrail_percent: 10,
                activity_retention_days: None,
                catalog: None,
                version: 0,
                setting_versions: SettingVersions::default(),
                drift_check: Default::default(),
            })
            .await
            .unwrap();
        store
    }

    /// A store where another writer changes the custom attributes just
    /// before each of the first `races` writes.
    struct Racing {
        inner: MemoryStore,
        races: AtomicUsize,
    }

    impl Organizations for Racing {
        async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
            self.inner.create_org(org).await
        }
        async fn update_org(&self, org: &Organization) -> Result<(), StoreError> {
            if self
                .races
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let n = self.races.load(Ordering::SeqCst);
                change_setting(&self.inner, &org.id, Setting::CustomAttributes, None, |o| {
                    o.custom_attributes = vec![format!("other{n}")];
                    Ok::<_, StoreError>(true)
                })
                .await
                .unwrap();
            }
            self.inner.update_org(org).await
        }
        async fn get_org(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
            self.inner.get_org(org).await
        }
        async fn list_orgs(
            &self,
            cursor: Option<&str>,
            limit: usize,
        ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
            self.inner.list_orgs(cursor, limit).await
        }
    }

    fn retention(days: u32) -> impl FnMut(&mut Organization) -> Result<bool, StoreError> {
        move |o| {
            let changed = o.activity_retention_days != Some(days);
            o.activity_retention_days = Some(days);
            Ok(changed)
        }
    }

    #[test]
    fn a_write_naming_an_old_version_is_stale_and_changes_nothing() {
        run(async {
            let store = stored().await;
            let s = Setting::ActivityRetention;
            let first = change_setting(&store, &acme(), s, Some(0), retention(120))
                .await
                .unwrap();
            assert_eq!(first.setting_versions.get(s), 1);
            // a second admin still holding version 0
            let late = change_setting(&store, &acme(), s, Some(0), retention(400)).await;
            assert!(
                matches!(late, Err(UpdateError::Refused(StoreError::Conflict(_)))),
                "{late:?}"
            );
            let now = store.get_org(&acme()).await.unwrap().unwrap();
            assert_eq!(now.activity_retention_days, Some(120));
            assert_eq!(now.setting_versions.get(s), 1);
            // with the version read again, or `*`
            let again = change_setting(&store, &acme(), s, Some(1), retention(400))
                .await
                .unwrap();
            assert_eq!(again.setting_versions.get(s), 2);
            let any = change_setting(&store, &acme(), s, None, retention(90))
                .await
                .unwrap();
            assert_eq!(any.setting_versions.get(s), 3);
            assert_eq!(any.version, 3);
            // a write that changes nothing keeps the version
            let same = change_setting(&store, &acme(), s, Some(3), retention(90))
                .await
                .unwrap();
            assert_eq!((same.setting_versions.get(s), same.version), (3, 3));
        });
    }

    #[test]
    fn a_change_of_one_setting_keeps_the_others_etags() {
        run(async {
            let store = stored().await;
            change_setting(&store, &acme(), Setting::Catalog, Some(0), |o| {
                o.catalog = Some(crate::catalog::Catalog::default());
                Ok::<_, StoreError>(true)
            })
            .await
            .unwrap();
            let o = change_setting(
                &store,
                &acme(),
                Setting::ActivityRetention,
                Some(0),
                retention(200),
            )
            .await
            .unwrap();
            assert_eq!(
                o.setting_versions,
                SettingVersions {
                    catalog: 1,
                    custom_attributes: 0,
                    activity_retention: 1,
                    drift_check: 0,
                }
            );
        });
    }

    #[test]
    fn two_writers_of_different_settings_keep_both_changes() {
        run(async {
            let store = Racing {
                inner: stored().await,
                races: AtomicUsize::new(1),
            };
            // the custom attributes change between this write's read and
            // its write: it reads again and applies on top
            let o = change_setting(
                &store,
                &acme(),
                Setting::ActivityRetention,
                Some(0),
                retention(100),
            )
            .await
            .unwrap();
            assert_eq!(o.activity_retention_days, Some(100));
            assert_eq!(o.custom_attributes, ["other0"]);
            let stored = store.get_org(&acme()).await.unwrap().unwrap();
            assert_eq!(stored, o);
            assert_eq!(
                (
                    stored.setting_versions.activity_retention,
                    stored.setting_versions.custom_attributes,
                    stored.version
                ),
                (1, 1, 2)
            );
        });
    }

    #[test]
    fn a_writer_that_keeps_losing_gives_up() {
        run(async {
            let store = Racing {
                inner: stored().await,
                races: AtomicUsize::new(UPDATE_ATTEMPTS),
            };
            let r = change_setting(
                &store,
                &acme(),
                Setting::ActivityRetention,
                None,
                retention(100),
            )
            .await;
            assert!(
                matches!(r, Err(UpdateError::Store(StoreError::Conflict(_)))),
                "{r:?}"
            );
            let missing =
                update_organization(&store.inner, &OrgId::parse("nobody").unwrap(), |_| {
                    Ok::<_, StoreError>(true)
                })
                .await;
            assert!(matches!(missing, Err(UpdateError::NotFound)), "{missing:?}");
        });
    }
}
