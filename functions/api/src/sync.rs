//! Sync on or off (`GET /sync`, `PUT /sync`): the switch, what is being
//! applied and the progress.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tracing::info;
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, Subject, SubjectKind};
use user_sync_core::auth::StoredToken;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{
    Configuration, Directory, FanOuts, Organizations, SyncSettings, SyncState,
};
use user_sync_core::rules::Rule;

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::guardrail;
use crate::progress;
use crate::routes::{now, ok, record_admin_change};

/// Attempts when a rule changed while sync was being switched.
const WRITE_ATTEMPTS: usize = 3;

/// A rule change or sync-on being applied, with its progress.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FanOutView {
    pub id: String,
    /// What started it: `rule` (a rule changed), `order` (the rules'
    /// order), `sync_on`, or `reconcile` (`ops reconcile`).
    pub reason: String,
    pub users_reconciled: u64,
    pub jobs_enqueued: u64,
    pub started_at: String,
    pub updated_at: String,
}

/// `GET /sync`: on or off, who switched it last, what is being applied and
/// the progress.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    #[serde(flatten)]
    pub sync: SyncSettings,
    pub fan_outs: Vec<FanOutView>,
    pub progress: progress::Progress,
}

pub async fn get_sync<D, S>(
    directory: &D,
    state: &S,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + FanOuts,
    S: SyncState,
{
    let (_, sync) = directory.rules_and_sync(org).await.map_err(store_error)?;
    let fan_outs = directory
        .running_fan_outs(org, 20)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|t| FanOutView {
            id: t.id,
            reason: t.reason,
            users_reconciled: t.users,
            jobs_enqueued: t.jobs,
            started_at: t.created_at,
            updated_at: t.updated_at,
        })
        .collect();
    let progress = progress::progress(directory, state, org).await?;
    ok(&SyncView {
        sync,
        fan_outs,
        progress,
    })
}

/// The body of `PUT /sync`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    enabled: bool,
    /// Go ahead although the guardrail would refuse.
    #[serde(default)]
    confirm: bool,
}

pub async fn put_sync<D, S>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    body: Json<'_, SyncBody>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + Organizations + user_sync_core::domains::Domains,
    S: SyncState,
{
    let body = body.read()?;
    let org = &token.org_id;
    if body.enabled {
        let domains = directory.list_domains(org).await.map_err(store_error)?;
        if let Err(reason) = user_sync_core::domains::check_sync_on(&domains) {
            return Err(ApiError::new(
                409,
                ErrorCode::VerifiedDomainRequired,
                reason,
            ));
        }
    }
    let mut written = None;
    for _ in 0..WRITE_ATTEMPTS {
        let set = directory.rule_set(org).await.map_err(store_error)?;
        let rules = set.rules();
        if body.enabled && !rules.iter().any(Rule::grants_full_admin) {
            return Err(ApiError::new(
                409,
                ErrorCode::FullAdminRuleRequired,
                "sync cannot be turned on until at least one rule grants Full Admin",
            ));
        }
        if set.sync.enabled == body.enabled {
            return ok(&set.sync);
        }
        if body.enabled && !body.confirm {
            let g = guardrail::verdict(directory, state, org, &rules, &rules, true)
                .await
                .map_err(store_error)?;
            if g.confirmation_required {
                return Err(ApiError::new(
                    409,
                    ErrorCode::MassSuspension,
                    g.message("turning sync on"),
                ));
            }
        }
        let sync = SyncSettings {
            enabled: body.enabled,
            changed_at: Some(now()),
            changed_by: Some(token.name.clone()),
        };
        match directory.put_sync(org, &sync, set.version).await {
            Ok(()) => {
                written = Some(sync);
                break;
            }
            // a rule changed meanwhile: check again
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(store_error(e)),
        }
    }
    let Some(sync) = written else {
        return Err(ApiError::new(
            409,
            ErrorCode::Conflict,
            "the rules kept changing while this request was applied; retry",
        ));
    };
    let at = sync.changed_at.clone().unwrap_or_else(now);
    let action = if body.enabled {
        Action::SyncEnabled
    } else {
        Action::SyncDisabled
    };
    record_admin_change(
        state,
        token,
        at,
        action,
        Subject {
            kind: SubjectKind::Sync,
            id: "sync".into(),
        },
        |_| {},
    )
    .await?;
    info!(org = %org, enabled = body.enabled, "sync switched");
    ok(&sync)
}
