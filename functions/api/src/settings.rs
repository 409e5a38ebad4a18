//! The organization settings an admin replaces as a whole, each with an
//! `ETag` of its own (its version) and `If-Match` required on `PUT`, as rule
//! and template writes: the catalogue, the custom attributes, the activity
//! retention. The decisions (validity, version check, what rules name,
//! activity entries) are the domain's
//! ([`user_sync_core::service::settings`]); handlers parse, call one method
//! and render.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde::Serialize;
use user_sync_aws::http::HttpRequest;
use user_sync_core::clock::Clock;
use user_sync_core::ids::OrgId;
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Configuration, Organization, Organizations, SyncState};
use user_sync_core::service::settings::SettingsService;

use crate::errors::ApiError;
use crate::routes::organization;
use crate::rules::{if_match, with_etag};

/// The settings' service as the admin API holds it: the directory is the
/// organizations and the rules; admins' changes are recorded.
pub type Service<'a, D, S, K> = SettingsService<'a, D, D, S, K>;

/// The settings' service over the admin API's tables and clock.
pub(crate) fn service<'a, D, S, K>(
    directory: &'a D,
    state: &'a S,
    clock: &'a K,
) -> Service<'a, D, S, K>
where
    D: Organizations + Configuration,
    S: SyncState,
    K: Clock,
{
    SettingsService {
        orgs: directory,
        config: directory,
        history: Some(state),
        clock,
    }
}

/// The version the request's `If-Match` names (`None` for `*`); `428`
/// without one. Read after the body is checked, before anything is written.
pub(crate) fn precondition(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    Ok(if_match(req, true)?.flatten())
}

/// `200` with the setting's view and its `ETag`.
pub(crate) fn tagged<T: Serialize>(
    org: &Organization,
    setting: Setting,
    view: &T,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    with_etag(200, view, org.setting_versions.get(setting))
}

/// A setting's answer to both `GET` and `PUT`: its value in the
/// organization and its version (also the `ETag`).
pub(crate) trait SettingView: Serialize + Sized {
    /// The setting whose version the view carries.
    const SETTING: Setting;

    /// The view of `org`'s setting at `version`.
    fn of(org: &Organization, version: u64) -> Self;
}

/// `200` with `org`'s `V` view and its `ETag`.
pub(crate) fn respond<V: SettingView>(
    org: &Organization,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    tagged(
        org,
        V::SETTING,
        &V::of(org, org.setting_versions.get(V::SETTING)),
    )
}

/// `GET` of a setting: the organization's `V` view, with its `ETag`.
pub(crate) async fn get<V: SettingView, D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    respond::<V>(&organization(directory, org).await?)
}
