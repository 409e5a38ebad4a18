//! The drift check's schedule (`GET`/`PUT /sync/drift-check`): off, hourly
//! or daily (the default), replaced with `If-Match` as the other settings.
//! The decision and its activity entry are the domain's
//! ([`user_sync_core::service::settings::SettingsService::set_drift_check`]).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use user_sync_aws::http::HttpRequest;
use user_sync_core::clock::Clock;
use user_sync_core::drift::DriftSchedule;
use user_sync_core::ids::OrgId;
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Configuration, Organization, Organizations, SyncState};
use user_sync_core::service::settings::By;
use user_sync_core::sso::Caller;

use crate::body::Json;
use crate::errors::ApiError;
use crate::settings::{self, Service, SettingView, precondition, respond};

/// How often the drift check reads every product account back and
/// corrects what differs from the desired state.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftCheckView {
    /// `off`, `hourly` or `daily` (the default). A run starts at the
    /// schedule's first pass in each hour or day (UTC) while sync is on.
    pub drift_check: DriftSchedule,
    /// The setting's version, also its `ETag`: send it as `If-Match` with
    /// `PUT /sync/drift-check`.
    pub version: u64,
}

/// The body of `PUT /sync/drift-check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftCheckBody {
    pub drift_check: DriftSchedule,
}

impl SettingView for DriftCheckView {
    const SETTING: Setting = Setting::DriftCheck;

    fn of(org: &Organization, version: u64) -> Self {
        Self {
            drift_check: org.drift_check,
            version,
        }
    }
}

/// `GET /sync/drift-check`.
pub async fn get<D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    settings::get::<DriftCheckView, _>(directory, org).await
}

/// `PUT /sync/drift-check` with `{"driftCheck": "hourly"}` and `If-Match`.
pub async fn put<D, S, K>(
    settings: Service<'_, D, S, K>,
    caller: &Caller,
    req: &HttpRequest,
    body: Json<'_, DriftCheckBody>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
    K: Clock,
{
    let body = body.read()?;
    let expected = precondition(req)?;
    let org = settings
        .set_drift_check(
            &caller.org,
            By::Admin(&caller.name),
            body.drift_check,
            expected,
        )
        .await?;
    respond::<DriftCheckView>(&org)
}
