//! The contract of [`Tokens`] and [`TokenReads`].

use super::groups::group;
use super::users::stored_user;
use super::{Checked, fresh_org, gid, uid};
use crate::StoreError;
use crate::auth::{StoredToken, TokenKind};
use crate::ids::OrgId;
use crate::ports::{Groups, TokenReads, Tokens, Users};

pub(super) fn token(org: &OrgId, id: &str) -> StoredToken {
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

/// A token's item read with a user or a group and its members to add: as
/// [`Tokens::get_token`], [`Users::get_user`] and
/// [`Groups::group_with_users`] read them, each of the organization named.
pub async fn token_reads<S: Tokens + Users + Groups + TokenReads>(s: &S) -> Checked {
    let org = fresh_org();
    let t = token(&org, "0c0c0c0c0c0c0c0c");
    s.put_token(&t).await?;
    let (ada, none) = (uid("u-ada"), uid("u-none"));
    s.create_user(&org, &stored_user("u-ada", "ada@example.com"))
        .await?;
    s.create_group(&org, &group("g-a", "A")).await?;
    let user = s.get_user(&org, &ada).await?;
    assert!(user.is_some());
    let id = t.token_id.as_str();
    assert_eq!(
        s.token_with_user(&org, id, &ada).await?,
        (Some(t.clone()), user.clone())
    );
    assert_eq!(
        s.token_with_user(&org, "0d0d0d0d0d0d0d0d", &ada).await?,
        (None, user.clone()),
        "no such token"
    );
    assert_eq!(
        s.token_with_user(&org, id, &none).await?,
        (Some(t.clone()), None),
        "no such user"
    );
    assert_eq!(
        s.token_with_user(&fresh_org(), id, &ada).await?,
        (None, None),
        "another organization's keys hold neither"
    );
    let adds = [ada.clone(), none.clone()];
    let (group_read, found) = s.group_with_users(&org, &gid("g-a"), &adds).await?;
    assert!(group_read.is_some() && found.len() == 1);
    assert_eq!(
        s.token_with_group(&org, id, &gid("g-a"), &adds).await?,
        (Some(t.clone()), group_read.clone(), found.clone())
    );
    assert_eq!(
        s.token_with_group(&org, id, &gid("g-a"), &[]).await?,
        (Some(t.clone()), group_read, Vec::new()),
        "a PATCH that adds no one"
    );
    assert_eq!(
        s.token_with_group(&org, "0d0d0d0d0d0d0d0d", &gid("g-none"), &adds)
            .await?,
        (None, None, found),
        "no such token, no such group"
    );
    assert_eq!(
        s.token_with_group(&fresh_org(), id, &gid("g-a"), &adds)
            .await?,
        (None, None, Vec::new()),
        "another organization's keys hold none of them"
    );
    Ok(())
}
