//! Organizations and their tokens.

use super::*;
use crate::auth::TokenKind;
use crate::ports::Tokens;
use crate::service::orgs::OrgError;

#[tokio::test]
async fn an_organization_starts_with_a_scim_and_an_admin_token() {
    let w = World::new().await;
    let org = w.store.get_org(&w.org).await.unwrap().unwrap();
    assert_eq!(
        (
            org.name.as_str(),
            org.default_language.as_str(),
            org.created.as_str()
        ),
        ("Acme", "en", "2026-12-01T09:00:00.000Z")
    );
    let mut tokens: Vec<(TokenKind, String)> = w
        .store
        .list_tokens(&w.org)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.name))
        .collect();
    tokens.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        tokens,
        [
            (TokenKind::Admin, "Admin".to_owned()),
            (TokenKind::Scim, "Identity provider".to_owned())
        ]
    );
    assert!(matches!(
        w.orgs().create(&w.org, "Again").await,
        Err(OrgError::Exists)
    ));
}

#[tokio::test]
async fn tokens_are_issued_by_name_and_revoked() {
    let w = World::new().await;
    let orgs = w.orgs();
    let issued = orgs
        .issue_token(&w.org, TokenKind::Admin, "  Alice Admin ")
        .await
        .unwrap();
    assert!(issued.plain.starts_with("us_admin_acme."));
    let stored = w.token(&issued.token_id).await;
    assert_eq!(stored.name, "Alice Admin");
    for bad in ["", "Sync user", "two\nlines", &"x".repeat(101)] {
        assert!(
            matches!(
                orgs.issue_token(&w.org, TokenKind::Admin, bad).await,
                Err(OrgError::InvalidTokenName(_))
            ),
            "{bad:?}"
        );
    }
    let elsewhere = OrgId::parse("elsewhere").unwrap();
    assert!(matches!(
        orgs.issue_token(&elsewhere, TokenKind::Scim, "IdP").await,
        Err(OrgError::NotFound)
    ));
    orgs.revoke_token(&w.org, &issued.token_id).await.unwrap();
    assert!(matches!(
        orgs.revoke_token(&w.org, &issued.token_id).await,
        Err(OrgError::NotFound)
    ));
}

#[tokio::test]
async fn keys_are_issued_with_a_role_and_an_expiry_from_the_clock() {
    let w = World::new().await;
    let issued = w
        .orgs()
        .issue_key(
            &w.org,
            TokenKind::Admin,
            "Help desk",
            crate::access::Role::Viewer,
            Some(time::Duration::days(90)),
        )
        .await
        .unwrap();
    let stored = w.token(&issued.token_id).await;
    assert_eq!(stored.role, crate::access::Role::Viewer);
    assert_eq!(
        stored.expires_at.as_deref(),
        Some("2027-03-01T09:00:00.000Z")
    );
    assert_eq!(stored.last_used_at, None);
    // an admin token issued as before is an admin key without expiry
    let plain = w
        .orgs()
        .issue_token(&w.org, TokenKind::Admin, "Ops")
        .await
        .unwrap();
    let stored = w.token(&plain.token_id).await;
    assert_eq!(
        (stored.role, stored.expires_at),
        (crate::access::Role::Admin, None)
    );
}
