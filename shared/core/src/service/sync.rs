//! Turning sync on and off. On needs a verified (or grandfathered) domain
//! and a rule that grants Full Admin (DESIGN §4), and asks for confirmation
//! past the mass-suspension guardrail; the switch is written only over the
//! rules it checked (another rule write in between: checked again, up to
//! [`WRITE_ATTEMPTS`] times). A switch that changes something is an
//! activity entry.

use tracing::info;

use super::guardrail::{self, Guardrail};
use crate::StoreError;
use crate::activity::{Action, ActivityEntry, Subject, SubjectKind};
use crate::clock::Clock;
use crate::domains::{Domains, check_sync_on};
use crate::ids::OrgId;
use crate::ports::{
    ActivityLog, Configuration, DesiredStates, Memberships, Organizations, SyncSettings,
    UserLookup, Users,
};
use crate::rules::Rule;
use crate::state::Outcome;

/// Attempts when a rule changed while sync was being switched.
pub const WRITE_ATTEMPTS: usize = 3;

/// Why the sync switch was not changed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Turning on needs a verified domain; the reason says what to do.
    #[error("{0}")]
    VerifiedDomainRequired(&'static str),
    /// Turning on needs a rule that grants Full Admin.
    #[error("sync cannot be turned on until at least one rule grants Full Admin")]
    FullAdminRequired,
    /// Turning on would suspend more users than the guardrail allows
    /// without confirmation.
    #[error("turning sync on would suspend more users than the guardrail allows")]
    MassSuspension(Guardrail),
    /// Rules kept changing for [`WRITE_ATTEMPTS`] attempts.
    #[error("the rules kept changing while the switch was applied")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sync switch's decisions, over the ports they read and write.
pub struct SyncService<'a, C, O, M, D, S, K> {
    /// The rules and the switch.
    pub config: &'a C,
    /// The guardrail's threshold.
    pub orgs: &'a O,
    /// The organization's domains.
    pub domains: &'a M,
    /// The users the guardrail counts.
    pub directory: &'a D,
    /// Users' desired states (guardrail) and the activity history.
    pub state: &'a S,
    pub clock: &'a K,
}

impl<C: Configuration, O, M, D, S, K> SyncService<'_, C, O, M, D, S, K> {
    /// The switch as stored.
    pub async fn get(&self, org: &OrgId) -> Result<SyncSettings, SyncError> {
        let (_, sync) = self.config.rules_and_sync(org).await?;
        Ok(sync)
    }
}

impl<C, O, M, D, S, K> SyncService<'_, C, O, M, D, S, K>
where
    C: Configuration,
    O: Organizations,
    M: Domains,
    D: Users + UserLookup + Memberships,
    S: DesiredStates + ActivityLog,
    K: Clock,
{
    /// Turns sync on or off by `actor`; `confirm` goes past the guardrail.
    /// Answers the switch as stored (unchanged, without an activity entry,
    /// when it was already so).
    pub async fn set(
        &self,
        org: &OrgId,
        actor: &str,
        enabled: bool,
        confirm: bool,
    ) -> Result<SyncSettings, SyncError> {
        if enabled {
            let domains = self.domains.list_domains(org).await?;
            check_sync_on(&domains).map_err(SyncError::VerifiedDomainRequired)?;
        }
        let mut written = None;
        for _ in 0..WRITE_ATTEMPTS {
            let set = self.config.rule_set(org).await?;
            let rules = set.rules();
            if enabled && !rules.iter().any(Rule::grants_full_admin) {
                return Err(SyncError::FullAdminRequired);
            }
            if set.sync.enabled == enabled {
                return Ok(set.sync);
            }
            if enabled && !confirm {
                let g = guardrail::verdict(
                    self.orgs,
                    self.directory,
                    self.state,
                    org,
                    &rules,
                    &rules,
                    true,
                )
                .await?;
                if g.confirmation_required {
                    return Err(SyncError::MassSuspension(g));
                }
            }
            let sync = SyncSettings {
                enabled,
                changed_at: Some(self.clock.timestamp()),
                changed_by: Some(actor.to_owned()),
            };
            match self.config.put_sync(org, &sync, set.version).await {
                Ok(()) => {
                    written = Some(sync);
                    break;
                }
                // a rule changed meanwhile: check again
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let Some(sync) = written else {
            return Err(SyncError::Conflict);
        };
        let at = sync
            .changed_at
            .clone()
            .unwrap_or_else(|| self.clock.timestamp());
        let action = if enabled {
            Action::SyncEnabled
        } else {
            Action::SyncDisabled
        };
        let entry = ActivityEntry::new(
            at.clone(),
            &format!("{action:?}#{at}"),
            actor,
            action,
            Subject {
                kind: SubjectKind::Sync,
                id: "sync".into(),
            },
            Outcome::Success,
        );
        self.state.append_activity(org, &entry).await?;
        info!(org = %org, enabled, "sync switched");
        Ok(sync)
    }
}
