//! Sync on or off (`GET /sync`, `PUT /sync`): the switch, what is being
//! applied and the progress.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use user_sync_core::clock::SystemClock;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{
    Configuration, Directory, FanOuts, Organizations, SyncSettings, SyncState,
};
use user_sync_core::service::sync::SyncService;
use user_sync_core::sso::Caller;

use crate::body::Json;
use crate::errors::{ApiError, store_error};
use crate::progress;
use crate::routes::ok;

/// The service behind both endpoints, on the system clock.
fn sync_service<'a, D, S>(
    directory: &'a D,
    state: &'a S,
) -> SyncService<'a, D, D, D, D, S, SystemClock>
where
    D: Directory + Configuration + Organizations + user_sync_core::domains::Domains,
    S: SyncState,
{
    SyncService {
        config: directory,
        orgs: directory,
        domains: directory,
        directory,
        state,
        clock: &SystemClock,
    }
}

/// A rule change or sync-on being applied, with its progress.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FanOutView {
    pub id: String,
    /// What started it: `rule` (a rule changed), `order` (the rules'
    /// order), `sync_on`, or `reconcile` (`ops reconcile`, or the repair
    /// of a lost stream batch: its id starts with `repair-`).
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
    D: Directory + Configuration + Organizations + FanOuts + user_sync_core::domains::Domains,
    S: SyncState,
{
    let sync = sync_service(directory, state).get(org).await?;
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
    caller: &Caller,
    body: Json<'_, SyncBody>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + Organizations + user_sync_core::domains::Domains,
    S: SyncState,
{
    let body = body.read()?;
    let sync = sync_service(directory, state)
        .set(&caller.org, &caller.name, body.enabled, body.confirm)
        .await?;
    ok(&sync)
}
