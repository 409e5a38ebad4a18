//! Operations shared by the ops CLI and the local stack, and the CLI
//! itself ([`cli`]).

pub mod cli;

use user_sync_core::StoreError;
use user_sync_core::activity::{RetentionSetter, check_retention};
use user_sync_core::auth::TokenKind;
use user_sync_core::catalog::Catalog;
use user_sync_core::clock::SystemClock;
use user_sync_core::ids::OrgId;
use user_sync_core::organization::{Setting, UpdateError, change_setting, update_organization};
use user_sync_core::ports::{Organization, Organizations, Tokens};
use user_sync_core::service::orgs::{OrgError, OrgService, RandomSecrets};

pub use user_sync_core::service::orgs::{MAX_TOKEN_NAME, NewOrganization};

/// The organizations' service over ops' store.
fn orgs<S: Organizations + Tokens>(store: &S) -> OrgService<'_, S, SystemClock, RandomSecrets> {
    OrgService {
        store,
        clock: &SystemClock,
        secrets: &RandomSecrets,
    }
}

/// How ops report an organization's refusal: as the store's error.
fn org_error(e: OrgError) -> StoreError {
    match e {
        OrgError::Exists => StoreError::Conflict("organization exists".to_owned()),
        OrgError::NotFound => StoreError::NotFound,
        OrgError::InvalidTokenName(reason) => StoreError::Invalid(reason),
        OrgError::NoRandomness(e) => StoreError::permanent(e),
        OrgError::Store(e) => e,
    }
}

/// Creates an organization with one SCIM token and one admin token. Fails
/// with `Conflict` when the organization exists.
pub async fn create_organization(
    store: &(impl Organizations + Tokens),
    org_id: &OrgId,
    name: &str,
) -> Result<NewOrganization, StoreError> {
    orgs(store).create(org_id, name).await.map_err(org_error)
}

/// Sets the attributes of the custom SCIM extension an organization captures
/// (`urn:ietf:params:scim:schemas:extension:usersync:2.0:User`).
pub async fn set_custom_attributes(
    store: &impl Organizations,
    org_id: &OrgId,
    names: &[String],
) -> Result<(), StoreError> {
    user_sync_core::scim::validate_custom_attributes(names)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    unconditioned(store, org_id, Setting::CustomAttributes, |org| {
        org.custom_attributes = names.to_vec();
    })
    .await
}

/// Sets the share of an organization's users (in percent, 1..=100) that a
/// rule change or sync-on may suspend without `"confirm": true`.
pub async fn set_guardrail(
    store: &impl Organizations,
    org_id: &OrgId,
    percent: u8,
) -> Result<(), StoreError> {
    if !(1..=100).contains(&percent) {
        return Err(StoreError::Invalid(
            "the guardrail is a percentage from 1 to 100".into(),
        ));
    }
    update_organization(store, org_id, |org| {
        org.suspension_guardrail_percent = percent;
        Ok::<_, StoreError>(true)
    })
    .await
    .map(drop)
    .map_err(store_error)
}

/// Sets how many days an organization's activity entries are kept (`None`:
/// the stack's default), from 1 day: below the 90 days an admin may set,
/// ops' own decision. Entries written before keep their expiry.
pub async fn set_activity_retention(
    store: &impl Organizations,
    org_id: &OrgId,
    days: Option<u32>,
) -> Result<(), StoreError> {
    check_retention(days, RetentionSetter::Ops).map_err(|e| StoreError::Invalid(e.to_string()))?;
    unconditioned(store, org_id, Setting::ActivityRetention, |org| {
        org.activity_retention_days = days;
    })
    .await
}

/// Replaces an organization's catalogue (what its rules may name). Fails
/// with `Invalid` when the catalogue is not valid.
pub async fn set_catalog(
    store: &impl Organizations,
    org_id: &OrgId,
    catalog: Catalog,
) -> Result<(), StoreError> {
    catalog
        .validate()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    unconditioned(store, org_id, Setting::Catalog, |org| {
        org.catalog = Some(catalog.clone());
    })
    .await
}

/// Ops' writes of a setting admins change with `If-Match`: unconditioned
/// (ops' own), but still a new version of the setting, so that an admin
/// holding the ETag read before gets `412`, and applied on top of any other
/// writer's change.
async fn unconditioned(
    store: &impl Organizations,
    org_id: &OrgId,
    setting: Setting,
    mut apply: impl FnMut(&mut Organization),
) -> Result<(), StoreError> {
    change_setting(store, org_id, setting, None, |org| {
        apply(org);
        Ok::<_, StoreError>(true)
    })
    .await
    .map(drop)
    .map_err(store_error)
}

fn store_error(e: UpdateError<StoreError>) -> StoreError {
    match e {
        UpdateError::NotFound => StoreError::NotFound,
        UpdateError::Refused(e) | UpdateError::Store(e) => e,
    }
}

/// Issues a new token of `kind` for an organization, named `name` (an admin
/// token's name is the actor of its changes in the activity history).
/// Returns the token in plain text: it is shown once, only its hash is kept.
pub async fn create_token(
    store: &(impl Organizations + Tokens),
    org_id: &OrgId,
    kind: TokenKind,
    name: &str,
) -> Result<(String, String), StoreError> {
    let issued = orgs(store)
        .issue_token(org_id, kind, name)
        .await
        .map_err(org_error)?;
    Ok((issued.token_id, issued.plain))
}

/// Revokes a token at once; `NotFound` when the organization has none by
/// that id.
pub async fn revoke_token(
    store: &(impl Organizations + Tokens),
    org_id: &OrgId,
    token_id: &str,
) -> Result<(), StoreError> {
    orgs(store)
        .revoke_token(org_id, token_id)
        .await
        .map_err(org_error)
}

/// Lists domains as "unverified (grandfathered)" for an organization (as
/// `ops domains grandfather --domain …` does): its users there keep being
/// provisioned until ops decide.
pub async fn grandfather_domains(
    store: &impl user_sync_core::domains::Domains,
    org_id: &OrgId,
    domains: &[&str],
) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc();
    for d in domains {
        let name = user_sync_core::domains::DomainName::parse(d)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        user_sync_core::domains::grandfather_domain(store, org_id, name, "ops", now)
            .await
            .map_err(domain_store_error)?;
    }
    Ok(())
}

/// Claims domains for an organization and marks them verified without a
/// lookup (the ops override, as `ops domains claim` does).
pub async fn claim_domains(
    store: &impl user_sync_core::domains::Domains,
    org_id: &OrgId,
    domains: &[&str],
) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc();
    for d in domains {
        let name = user_sync_core::domains::DomainName::parse(d)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        user_sync_core::domains::override_domain(store, org_id, &name, false, "ops", now)
            .await
            .map_err(domain_store_error)?;
    }
    Ok(())
}

fn domain_store_error(e: user_sync_core::domains::DomainOpError) -> StoreError {
    match e {
        user_sync_core::domains::DomainOpError::Store(e) => e,
        user_sync_core::domains::DomainOpError::NotFound => StoreError::NotFound,
        other => StoreError::Invalid(other.to_string()),
    }
}
