//! Operations shared by the ops CLI and the local stack, and the CLI
//! itself ([`cli`]).

pub mod cli;

use user_sync_aws::dynamo::StateTable;
use user_sync_core::StoreError;
use user_sync_core::auth::{Role, TokenKind};
use user_sync_core::catalog::Catalog;
use user_sync_core::clock::SystemClock;
use user_sync_core::domains::{DomainName, DomainOpError, Domains};
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Configuration, Organizations, Tokens};
use user_sync_core::service::domains::DomainService;
use user_sync_core::service::orgs::{OrgError, OrgService, RandomSecrets};
use user_sync_core::service::settings::{By, SettingsError, SettingsService};

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

/// The settings' service over ops' store: ops' changes are unconditioned
/// (still a new version of the setting, so that an admin holding the ETag
/// read before gets `412`) and, as ever, not in the activity history.
fn settings<S: Organizations + Configuration>(
    store: &S,
) -> SettingsService<'_, S, S, StateTable, SystemClock> {
    SettingsService {
        orgs: store,
        config: store,
        history: None,
        clock: &SystemClock,
    }
}

/// No version is checked: ops' writes are their own.
fn unconditioned() -> Result<Option<u64>, SettingsError> {
    Ok(None)
}

/// How ops report a refused settings change: as the store's error (an
/// invalid value is `Invalid`; a catalogue rules still need, `Conflict`
/// naming them).
fn settings_error(e: SettingsError) -> StoreError {
    match e {
        SettingsError::NotFound => StoreError::NotFound,
        SettingsError::Invalid(e) => StoreError::Invalid(e.to_string()),
        e @ (SettingsError::Stale(_) | SettingsError::CatalogInUse { .. }) => {
            StoreError::Conflict(e.to_string())
        }
        SettingsError::Store(e) => e,
    }
}

/// Sets the attributes of the custom SCIM extension an organization captures
/// (`urn:ietf:params:scim:schemas:extension:usersync:2.0:User`).
pub async fn set_custom_attributes(
    store: &(impl Organizations + Configuration),
    org_id: &OrgId,
    names: &[String],
) -> Result<(), StoreError> {
    settings(store)
        .replace_custom_attributes(org_id, By::Ops, names, unconditioned)
        .await
        .map(drop)
        .map_err(settings_error)
}

/// Sets the share of an organization's users (in percent, 1..=100) that a
/// rule change or sync-on may suspend without `"confirm": true`.
pub async fn set_guardrail(
    store: &(impl Organizations + Configuration),
    org_id: &OrgId,
    percent: u8,
) -> Result<(), StoreError> {
    settings(store)
        .set_guardrail(org_id, percent)
        .await
        .map(drop)
        .map_err(settings_error)
}

/// Sets how many days an organization's activity entries are kept (`None`:
/// the stack's default), from 1 day: below the 90 days an admin may set,
/// ops' own decision. Entries written before keep their expiry.
pub async fn set_activity_retention(
    store: &(impl Organizations + Configuration),
    org_id: &OrgId,
    days: Option<u32>,
) -> Result<(), StoreError> {
    settings(store)
        .set_retention(org_id, By::Ops, days, unconditioned)
        .await
        .map(drop)
        .map_err(settings_error)
}

/// Replaces an organization's catalogue (what its rules may name). Fails
/// with `Invalid` when the catalogue is not valid, and with `CatalogInUse`
/// while a rule names something it drops.
pub async fn set_catalog(
    store: &(impl Organizations + Configuration),
    org_id: &OrgId,
    catalog: Catalog,
) -> Result<(), StoreError> {
    settings(store)
        .replace_catalog(org_id, By::Ops, catalog, unconditioned)
        .await
        .map(drop)
        .map_err(settings_error)
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
    create_key(store, org_id, kind, name, Role::Admin, None).await
}

/// Issues a token of `kind` with a role (admin API keys) and an optional
/// lifetime; as [`create_token`] otherwise.
pub async fn create_key(
    store: &(impl Organizations + Tokens),
    org_id: &OrgId,
    kind: TokenKind,
    name: &str,
    role: Role,
    expires_in: Option<time::Duration>,
) -> Result<(String, String), StoreError> {
    let issued = orgs(store)
        .issue_key(org_id, kind, name, role, expires_in)
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

/// The domains' service over ops' store: these writes are not in the
/// activity history (the CLI's are, with a state table).
fn domains<S: Domains>(store: &S) -> DomainService<'_, S, StateTable, SystemClock> {
    DomainService {
        domains: store,
        history: None,
        clock: &SystemClock,
    }
}

/// Lists domains as "unverified (grandfathered)" for an organization (as
/// `ops domains grandfather --domain …` does): its users there keep being
/// provisioned until ops decide.
pub async fn grandfather_domains(
    store: &impl Domains,
    org_id: &OrgId,
    names: &[&str],
) -> Result<(), StoreError> {
    for d in names {
        let name = DomainName::parse(d).map_err(|e| StoreError::Invalid(e.to_string()))?;
        domains(store)
            .grandfather(org_id, "ops", &name)
            .await
            .map_err(domain_store_error)?;
    }
    Ok(())
}

/// Claims domains for an organization and marks them verified without a
/// lookup (the ops override, as `ops domains claim` does).
pub async fn claim_domains(
    store: &impl Domains,
    org_id: &OrgId,
    names: &[&str],
) -> Result<(), StoreError> {
    for d in names {
        let name = DomainName::parse(d).map_err(|e| StoreError::Invalid(e.to_string()))?;
        domains(store)
            .claim(org_id, "ops", &name, false)
            .await
            .map_err(domain_store_error)?;
    }
    Ok(())
}

fn domain_store_error(e: DomainOpError) -> StoreError {
    match e {
        DomainOpError::Store(e) => e,
        DomainOpError::NotFound => StoreError::NotFound,
        other => StoreError::Invalid(other.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;
    use user_sync_core::ids::{GroupId, RuleId};
    use user_sync_core::memory::{MemoryStore, product_rule};
    use user_sync_core::ports::StoredRule;
    use user_sync_core::rules::Priority;

    use super::*;

    /// A catalogue of these user groups, as `ops catalog set` reads it.
    fn catalogue(groups: &[&str]) -> Catalog {
        let groups: Vec<_> = groups
            .iter()
            .map(|id| json!({"id": id, "name": id}))
            .collect();
        serde_json::from_value(json!({ "userGroups": groups })).unwrap()
    }

    #[tokio::test]
    async fn set_catalog_is_refused_while_a_rule_names_what_it_drops() {
        let store = MemoryStore::default();
        let org = OrgId::parse("acme").unwrap();
        create_organization(&store, &org, "Acme").await.unwrap();
        let rule = RuleId::parse("r1").unwrap();
        let group = GroupId::parse("sales").unwrap();
        let priority = Priority::new(1).unwrap();
        let mut set = store.rule_set(&org).await.unwrap();
        let mut named = product_rule(rule, group, priority, &["G2M"]);
        named.user_group = Some("sales".into());
        set.rules.push(StoredRule {
            rule: named,
            version: 1,
        });
        store.put_rule_set(&org, set);
        let refused = set_catalog(&store, &org, catalogue(&["support"])).await;
        let Err(StoreError::Conflict(message)) = refused else {
            panic!("{refused:?}");
        };
        assert!(
            message.starts_with("the catalogue would drop what rules name: rule r1 (userGroup: "),
            "{message}"
        );
        assert!(message.ends_with("; change those rules first"), "{message}");
        assert_eq!(store.get_org(&org).await.unwrap().unwrap().catalog, None);

        set_catalog(&store, &org, catalogue(&["sales", "support"]))
            .await
            .unwrap();
        let stored = store.get_org(&org).await.unwrap().unwrap();
        assert_eq!(stored.catalog, Some(catalogue(&["sales", "support"])));
        assert!(matches!(
            set_catalog(&store, &org, catalogue(&["sales", "sales"])).await,
            Err(StoreError::Invalid(_))
        ));
        let products = serde_json::from_value(json!({"products": []})).unwrap();
        let Err(StoreError::Invalid(reason)) = set_catalog(&store, &org, products).await else {
            panic!("a catalogue with products was taken");
        };
        assert!(reason.starts_with("products: "), "{reason}");
    }
}
