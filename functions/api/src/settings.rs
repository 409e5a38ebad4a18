//! The organization settings an admin replaces as a whole, each with an
//! `ETag` of its own (its version) and `If-Match` required on `PUT`, as rule
//! and template writes: the catalogue, the custom attributes, the activity
//! retention. The decision (version check, conditional write, retry on
//! another setting's write) is the domain's
//! ([`user_sync_core::organization::change_setting`]).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde::Serialize;
use user_sync_aws::http::HttpRequest;
use user_sync_core::StoreError;
use user_sync_core::ids::OrgId;
use user_sync_core::organization::{Setting, Stale, UpdateError, change_setting};
use user_sync_core::ports::{Organization, Organizations};

use crate::errors::{ApiError, ErrorCode, store_error};
use crate::rules::{if_match, stale, with_etag};

/// Why a setting write was refused.
pub(crate) enum Refusal {
    Stale,
    Api(ApiError),
}

impl From<Stale> for Refusal {
    fn from(_: Stale) -> Self {
        Refusal::Stale
    }
}

/// The version the request's `If-Match` names (`None` for `*`); `428`
/// without one. Read after the body is checked, before anything is written.
pub(crate) fn precondition(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    Ok(if_match(req, true)?.flatten())
}

/// Replaces `setting` of the organization with `apply` (which answers
/// whether it changed anything) if `expected` is its version: `412` naming
/// `what` otherwise.
pub(crate) async fn replace<D: Organizations>(
    directory: &D,
    org: &OrgId,
    setting: Setting,
    what: &str,
    expected: Option<u64>,
    mut apply: impl FnMut(&mut Organization) -> Result<bool, ApiError>,
) -> Result<Organization, ApiError> {
    change_setting(directory, org, setting, expected, |o| {
        apply(o).map_err(Refusal::Api)
    })
    .await
    .map_err(|e| match e {
        UpdateError::NotFound => ApiError::new(404, ErrorCode::NotFound, "no such organization"),
        UpdateError::Refused(Refusal::Stale) | UpdateError::Store(StoreError::Conflict(_)) => {
            stale(what)
        }
        UpdateError::Refused(Refusal::Api(e)) => e,
        UpdateError::Store(e) => store_error(e),
    })
}

/// `200` with the setting's view and its `ETag`.
pub(crate) fn tagged<T: Serialize>(
    org: &Organization,
    setting: Setting,
    view: &T,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    with_etag(200, view, org.setting_versions.get(setting))
}
