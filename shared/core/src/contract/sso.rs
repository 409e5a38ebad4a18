//! The contract of [`SsoConfigs`].

use super::{Checked, fresh_org};
use crate::StoreError;
use crate::sso::{DEFAULT_ROLE_CLAIM, Discovered, RoleValues, SsoConfig, SsoConfigs};

fn config(issuer: &str, client: &str) -> SsoConfig {
    SsoConfig {
        issuer: issuer.to_owned(),
        client_id: client.to_owned(),
        name: "Contract".into(),
        role_claim: DEFAULT_ROLE_CLAIM.into(),
        roles: RoleValues {
            admin: vec!["admins".into()],
            ..RoleValues::default()
        },
        discovered: Discovered {
            authorization_endpoint: format!("{issuer}/auth"),
            token_endpoint: format!("{issuer}/token"),
            end_session_endpoint: None,
            jwks_uri: format!("{issuer}/jwks"),
        },
        token_sign_in: true,
    }
}

/// Sets, moves and removes two organizations' configurations and checks
/// the (issuer, client id) index: one organization per pair.
pub async fn sso<S: SsoConfigs>(store: &S) -> Checked {
    let (a, b) = (fresh_org(), fresh_org());
    let issuer = format!("https://{a}.example.com");
    assert_eq!(store.get_sso(&a).await?, None);
    assert_eq!(store.find_sso_org(&issuer, "c1").await?, None);
    let first = config(&issuer, "c1");
    store.put_sso(&a, &first).await?;
    assert_eq!(store.get_sso(&a).await?, Some(first.clone()));
    assert_eq!(store.find_sso_org(&issuer, "c1").await?, Some(a.clone()));
    // setting it again is harmless
    store.put_sso(&a, &first).await?;
    assert!(
        matches!(
            store.put_sso(&b, &first).await,
            Err(StoreError::Conflict(_))
        ),
        "put_sso MUST return Conflict for another organization's pair"
    );
    assert_eq!(store.get_sso(&b).await?, None, "nothing written");
    // a new client moves the index entry
    store.put_sso(&a, &config(&issuer, "c2")).await?;
    assert_eq!(store.find_sso_org(&issuer, "c1").await?, None);
    assert_eq!(store.find_sso_org(&issuer, "c2").await?, Some(a.clone()));
    store.put_sso(&b, &first).await?;
    assert_eq!(store.find_sso_org(&issuer, "c1").await?, Some(b.clone()));
    store.remove_sso(&a).await?;
    assert_eq!(store.get_sso(&a).await?, None);
    assert_eq!(store.find_sso_org(&issuer, "c2").await?, None);
    assert!(
        matches!(store.remove_sso(&a).await, Err(StoreError::NotFound)),
        "remove_sso MUST return NotFound when there is none"
    );
    store.remove_sso(&b).await?;
    Ok(())
}
