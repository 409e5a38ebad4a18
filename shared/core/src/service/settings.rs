//! The organization's settings: the catalogue's lists (the privileges,
//! user groups, device groups and settings templates rules may name), the
//! custom SCIM attributes it captures, how long its activity history is
//! kept and its mass-suspension guardrail. An admin replaces the first
//! three as a whole at the version they read (`If-Match`; each setting has
//! its own, see [`crate::organization`]); ops' writes are unconditioned but
//! still a new version. A catalogue that would drop what a rule names is
//! refused, whoever sends it. An admin's change is an activity entry.

use serde_json::json;
use tracing::info;

use crate::StoreError;
use crate::activity::{
    Action, ActivityEntry, RetentionError, RetentionSetter, Subject, SubjectKind, check_retention,
};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::drift::DriftSchedule;
use crate::error::DomainError;
use crate::ids::{OrgId, RuleId};
use crate::organization::{Setting, Stale, UpdateError, change_setting, update_organization};
use crate::ports::{ActivityLog, Configuration, Organization, Organizations};
use crate::scim::validate_custom_attributes;
use crate::state::Outcome;

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("no such organization")]
    NotFound,
    /// The setting is no longer at the version the caller read; names it
    /// (`the catalogue`, …).
    #[error("{0} was changed by someone else")]
    Stale(&'static str),
    /// The value is not valid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Rules name a privilege, user group, device group or settings
    /// template the new catalogue drops: each rule and what it would lose.
    #[error(
        "the catalogue would drop what rules name: {}; change those rules first",
        join(rules)
    )]
    CatalogInUse { rules: Vec<RuleLoss> },
    #[error("the store failed: {0}")]
    Store(#[source] StoreError),
}

/// Why a setting's value is not valid, per setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{0}")]
    Catalog(DomainError),
    #[error("{0}")]
    CustomAttributes(DomainError),
    #[error("{0}")]
    Retention(RetentionError),
    #[error("the guardrail is a percentage from 1 to 100")]
    Guardrail,
}

/// A rule that names what a new catalogue drops, and what that is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule} ({}: {})", lost.field, lost.reason)]
pub struct RuleLoss {
    pub rule: RuleId,
    pub lost: DomainError,
}

fn join(rules: &[RuleLoss]) -> String {
    rules
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Who changes a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By<'a> {
    /// An admin, named by their token (the activity entry's actor).
    Admin(&'a str),
    /// Ops, from the command line: no version is checked, ops' own floor
    /// for the retention applies.
    Ops,
}

impl By<'_> {
    fn actor(&self) -> &str {
        match self {
            By::Admin(name) => name,
            By::Ops => "ops",
        }
    }
}

/// How a [`Setting`] is named when it is stale.
fn what(setting: Setting) -> &'static str {
    match setting {
        Setting::Catalog => "the catalogue",
        Setting::CustomAttributes => "the list of custom attributes",
        Setting::ActivityRetention => "the activity retention",
        Setting::DriftCheck => "the drift check's schedule",
    }
}

/// Why [`change_setting`]'s change refused itself.
enum Refusal {
    Stale,
    Settings(SettingsError),
}

impl From<Stale> for Refusal {
    fn from(_: Stale) -> Self {
        Refusal::Stale
    }
}

/// The settings' decisions, over the ports they read and write.
pub struct SettingsService<'a, O, C, S, K> {
    pub orgs: &'a O,
    /// The rules (a catalogue may not drop what they name).
    pub config: &'a C,
    /// The activity history, where changes are recorded; `None` records
    /// nothing (ops' command line, as ever).
    pub history: Option<&'a S>,
    pub clock: &'a K,
}

impl<O, C, S, K> SettingsService<'_, O, C, S, K>
where
    O: Organizations,
    C: Configuration,
    S: ActivityLog,
    K: Clock,
{
    /// The organization, with every setting and its version.
    pub async fn get(&self, org: &OrgId) -> Result<Organization, SettingsError> {
        self.orgs
            .get_org(org)
            .await
            .map_err(SettingsError::Store)?
            .ok_or(SettingsError::NotFound)
    }

    /// Replaces the catalogue, by `by` at the version `expected` gives
    /// (asked for once the catalogue is found valid; `None`: any); refused
    /// while a rule names something it drops.
    pub async fn replace_catalog<E>(
        &self,
        org: &OrgId,
        by: By<'_>,
        catalog: Catalog,
        expected: impl FnOnce() -> Result<Option<u64>, E>,
    ) -> Result<Organization, E>
    where
        E: From<SettingsError>,
    {
        catalog
            .validate()
            .map_err(|e| SettingsError::from(Invalid::Catalog(e)))?;
        let expected = expected()?;
        // a stale version is answered before the rules are read
        self.get(org)
            .await?
            .setting_versions
            .check(Setting::Catalog, expected)
            .map_err(|_| SettingsError::Stale(what(Setting::Catalog)))?;
        // a rule may not lose what it names
        let set = self
            .config
            .rule_set(org)
            .await
            .map_err(SettingsError::Store)?;
        let rules: Vec<RuleLoss> = set
            .rules
            .iter()
            .filter_map(|r| {
                catalog.check_lists(&r.rule).err().map(|lost| RuleLoss {
                    rule: r.rule.id.clone(),
                    lost,
                })
            })
            .collect();
        if !rules.is_empty() {
            return Err(SettingsError::CatalogInUse { rules }.into());
        }
        let details = json!({
            "privileges": catalog.privileges.len(),
            "userGroups": catalog.user_groups.len(),
            "deviceGroups": catalog.device_groups.len(),
            "settingsTemplates": catalog.settings_templates.len(),
        });
        let stored = self
            .change(org, Setting::Catalog, expected, |o| {
                o.catalog = Some(catalog.clone());
                Ok(true)
            })
            .await?;
        self.record(
            org,
            by,
            Action::CatalogChanged,
            Subject {
                kind: SubjectKind::Catalog,
                id: "catalog".into(),
            },
            details,
        )
        .await?;
        info!(org = %org, "catalogue replaced");
        Ok(stored)
    }

    /// Replaces the custom attributes the organization captures (names
    /// trimmed), by `by` at the version `expected` gives (asked for once the
    /// names are found valid). Recorded only when they changed.
    pub async fn replace_custom_attributes<E>(
        &self,
        org: &OrgId,
        by: By<'_>,
        names: &[String],
        expected: impl FnOnce() -> Result<Option<u64>, E>,
    ) -> Result<Organization, E>
    where
        E: From<SettingsError>,
    {
        let names: Vec<String> = names.iter().map(|n| n.trim().to_owned()).collect();
        validate_custom_attributes(&names)
            .map_err(|e| SettingsError::from(Invalid::CustomAttributes(e)))?;
        let expected = expected()?;
        let mut previous = None;
        let stored = self
            .change(org, Setting::CustomAttributes, expected, |o| {
                previous = None;
                if o.custom_attributes == names {
                    return Ok(false);
                }
                previous = Some(std::mem::replace(&mut o.custom_attributes, names.clone()));
                Ok(true)
            })
            .await?;
        if let Some(previous) = previous {
            self.record(
                org,
                by,
                Action::CustomAttributesChanged,
                Subject {
                    kind: SubjectKind::Organization,
                    id: org.to_string(),
                },
                json!({"attributes": names, "previous": previous}),
            )
            .await?;
            info!(org = %org, count = names.len(), "custom attributes changed");
        }
        Ok(stored)
    }

    /// Sets how many days the organization's activity entries are kept
    /// (`None`: the stack's default), by `by` at the version `expected`
    /// gives (asked for once the value is found valid): admins from 90
    /// days, ops from 1. Entries written before keep their expiry.
    pub async fn set_retention<E>(
        &self,
        org: &OrgId,
        by: By<'_>,
        days: Option<u32>,
        expected: impl FnOnce() -> Result<Option<u64>, E>,
    ) -> Result<Organization, E>
    where
        E: From<SettingsError>,
    {
        let setter = match by {
            By::Admin(_) => RetentionSetter::Admin,
            By::Ops => RetentionSetter::Ops,
        };
        check_retention(days, setter).map_err(|e| SettingsError::from(Invalid::Retention(e)))?;
        let expected = expected()?;
        let stored = self
            .change(org, Setting::ActivityRetention, expected, |o| {
                o.activity_retention_days = days;
                Ok(true)
            })
            .await?;
        self.record(
            org,
            by,
            Action::RetentionChanged,
            Subject {
                kind: SubjectKind::Sync,
                id: "activity".into(),
            },
            json!({"retentionDays": days}),
        )
        .await?;
        Ok(stored)
    }

    /// Sets how often the organization's drift check runs, by `by` at the
    /// version `expected` gives (ops: unconditioned).
    pub async fn set_drift_check(
        &self,
        org: &OrgId,
        by: By<'_>,
        schedule: DriftSchedule,
        expected: Option<u64>,
    ) -> Result<Organization, SettingsError> {
        let mut previous = None;
        let stored = self
            .change(org, Setting::DriftCheck, expected, |o| {
                previous = Some(o.drift_check);
                o.drift_check = schedule;
                Ok(true)
            })
            .await?;
        self.record(
            org,
            by,
            Action::DriftCheckChanged,
            Subject {
                kind: SubjectKind::Sync,
                id: "drift-check".into(),
            },
            json!({"driftCheck": schedule, "previous": previous}),
        )
        .await?;
        info!(org = %org, schedule = schedule.as_str(), "drift check schedule changed");
        Ok(stored)
    }

    /// Sets the share of the organization's users (in percent, 1..=100)
    /// that a rule change or sync-on may suspend without confirmation.
    pub async fn set_guardrail(
        &self,
        org: &OrgId,
        percent: u8,
    ) -> Result<Organization, SettingsError> {
        if !(1..=100).contains(&percent) {
            return Err(Invalid::Guardrail.into());
        }
        update_organization(self.orgs, org, |o| {
            o.suspension_guardrail_percent = percent;
            Ok::<_, StoreError>(true)
        })
        .await
        .map_err(|e| match e {
            UpdateError::NotFound => SettingsError::NotFound,
            UpdateError::Refused(e) | UpdateError::Store(e) => SettingsError::Store(e),
        })
    }

    /// Replaces `setting` with `apply` (which answers whether it changed
    /// anything) if `expected` is its version.
    async fn change(
        &self,
        org: &OrgId,
        setting: Setting,
        expected: Option<u64>,
        mut apply: impl FnMut(&mut Organization) -> Result<bool, SettingsError>,
    ) -> Result<Organization, SettingsError> {
        change_setting(self.orgs, org, setting, expected, |o| {
            apply(o).map_err(Refusal::Settings)
        })
        .await
        .map_err(|e| match e {
            UpdateError::NotFound => SettingsError::NotFound,
            UpdateError::Refused(Refusal::Stale) | UpdateError::Store(StoreError::Conflict(_)) => {
                SettingsError::Stale(what(setting))
            }
            UpdateError::Refused(Refusal::Settings(e)) => e,
            UpdateError::Store(e) => SettingsError::Store(e),
        })
    }

    /// Records a change in the history (if there is one), by `by`.
    async fn record(
        &self,
        org: &OrgId,
        by: By<'_>,
        action: Action,
        subject: Subject,
        details: serde_json::Value,
    ) -> Result<(), SettingsError> {
        let Some(history) = self.history else {
            return Ok(());
        };
        let at = self.clock.timestamp();
        let mut entry = ActivityEntry::new(
            at.clone(),
            &format!("{action:?}#{at}"),
            by.actor(),
            action,
            subject,
            Outcome::Success,
        );
        entry.details = details;
        history
            .append_activity(org, &entry)
            .await
            .map_err(SettingsError::Store)
    }
}
