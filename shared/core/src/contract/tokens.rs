//! The contract of [`Tokens`].

use super::{Checked, fresh_org};
use crate::StoreError;
use crate::auth::{StoredToken, TokenKind};
use crate::ids::OrgId;
use crate::ports::Tokens;

fn token(org: &OrgId, id: &str) -> StoredToken {
    StoredToken {
        org_id: org.clone(),
        token_id: id.to_owned(),
        kind: TokenKind::Admin,
        name: "Contract".into(),
        secret_sha256: "00".repeat(32),
        created: "2026-12-01T09:00:00.000Z".into(),
        role: crate::access::Role::Viewer,
        expires_at: Some("2027-12-01T09:00:00.000Z".into()),
        last_used_at: None,
    }
}

/// Stores, lists and revokes tokens of `org` (a fresh organization).
pub async fn tokens<S: Tokens>(store: &S) -> Checked {
    let org = &fresh_org();
    let a = token(org, "0a0a0a0a0a0a0a0a");
    let b = token(org, "0b0b0b0b0b0b0b0b");
    assert!(store.put_token(&a).await.is_ok());
    assert!(store.put_token(&b).await.is_ok());
    assert_eq!(
        store.get_token(org, &a.token_id).await.ok(),
        Some(Some(a.clone()))
    );
    let mut listed = store
        .list_tokens(org)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    listed.sort_by(|x, y| x.token_id.cmp(&y.token_id));
    assert_eq!(listed, [a.clone(), b.clone()]);
    assert!(store.delete_token(org, &a.token_id).await.is_ok());
    assert_eq!(store.get_token(org, &a.token_id).await.ok(), Some(None));
    assert!(
        matches!(
            store.delete_token(org, &a.token_id).await,
            Err(StoreError::NotFound)
        ),
        "delete_token MUST return NotFound when there is none"
    );
    assert_eq!(store.list_tokens(org).await.ok(), Some(vec![b.clone()]));
    // last used: written once per interval, nothing else changed
    let first = "2026-12-01T10:00:00.000Z";
    let cutoff = "2026-12-01T09:55:00.000Z";
    assert_eq!(
        store
            .mark_token_used(org, &b.token_id, first, cutoff)
            .await
            .ok(),
        Some(true)
    );
    let soon = "2026-12-01T10:01:00.000Z";
    assert_eq!(
        store
            .mark_token_used(org, &b.token_id, soon, "2026-12-01T09:56:00.000Z")
            .await
            .ok(),
        Some(false),
        "mark_token_used MUST NOT write again within the interval"
    );
    let mut used = b.clone();
    used.last_used_at = Some(first.into());
    assert_eq!(
        store.get_token(org, &b.token_id).await.ok(),
        Some(Some(used))
    );
    assert_eq!(
        store
            .mark_token_used(org, &a.token_id, first, cutoff)
            .await
            .ok(),
        Some(false),
        "mark_token_used MUST NOT create a revoked token"
    );
    assert_eq!(store.get_token(org, &a.token_id).await.ok(), Some(None));
    Ok(())
}
