//! The contract of [`ReturningIndex`] and of
//! [`TokenReads::token_with_returning`]: what a user create reads first.

use super::tokens::token;
use super::users::{next, stored_user};
use super::{Checked, fresh_org, uid};
use crate::directory::ReturningKey;
use crate::ports::{
    Organization, Organizations, Returnable, ReturningIndex, TokenReads, Tokens, Users,
};
use crate::returning::{IndexCount, index_organization};

/// An organization without the index (one created before it) has every
/// create look; indexed, a key nobody is filed under needs no look;
/// deleting files, a takeover takes out; an organization created now is
/// indexed from its start.
pub async fn returning_index<S>(s: &S) -> Checked
where
    S: Organizations + Tokens + Users + TokenReads + ReturningIndex,
{
    let org = fresh_org();
    let t = token(&org, "0e0e0e0e0e0e0e0e");
    s.put_token(&t).await?;
    let id = t.token_id.as_str();
    let by_x = ReturningKey::ExternalId("00u-ada".into());
    let by_name = ReturningKey::UserName("ada@example.com".into());
    let nobody_x = ReturningKey::ExternalId("00u-bob".into());
    let nobody_name = ReturningKey::UserName("bob@example.com".into());
    let token = Some(t.clone());

    assert_eq!(
        s.token_with_returning(&org, id, &nobody_x).await?,
        (token.clone(), Returnable::Maybe),
        "not indexed: every create looks"
    );
    let mut ada = stored_user("u-ada", "Ada@Example.com");
    ada.user.external_id = Some("00u-ada".into());
    s.create_user(&org, &ada).await?;
    let deleted = next(&ada, |u| {
        u.deleted = true;
        u.active = false;
    });
    s.delete_user(&org, &ada.user, &deleted).await?;
    s.create_user(&org, &stored_user("u-live", "live@example.com"))
        .await?;
    // deleted by an earlier version, which filed nobody
    let mut old = stored_user("u-old", "old@example.com");
    old.user.external_id = Some("00u-old".into());
    old.user.deleted = true;
    s.create_user(&org, &old).await?;
    let by_old_x = ReturningKey::ExternalId("00u-old".into());
    assert_eq!(
        s.token_with_returning(&org, id, &by_old_x).await?,
        (token.clone(), Returnable::Maybe),
        "not indexed"
    );

    let count = index_organization(s, &org, |_| {}).await?;
    assert_eq!(
        count,
        IndexCount {
            examined: 3,
            filed: 2
        }
    );
    for (key, expected) in [
        (&by_x, Returnable::Maybe),
        (&by_name, Returnable::Maybe),
        (&by_old_x, Returnable::Maybe),
        (
            &ReturningKey::UserName("old@example.com".into()),
            Returnable::Maybe,
        ),
        (&nobody_x, Returnable::None),
        (&nobody_name, Returnable::None),
        (
            &ReturningKey::UserName("live@example.com".into()),
            Returnable::None,
        ),
    ] {
        assert_eq!(
            s.token_with_returning(&org, id, key).await?,
            (token.clone(), expected),
            "indexed: {key:?}"
        );
    }
    assert_eq!(
        s.token_with_returning(&org, "0d0d0d0d0d0d0d0d", &nobody_x)
            .await?,
        (None, Returnable::None),
        "no such token"
    );
    assert_eq!(
        index_organization(s, &org, |_| {}).await?,
        count,
        "indexing again files the same"
    );

    // taken over: nobody is filed under its keys any more
    let mut back = stored_user("u-ada-2", "ada@example.com");
    back.user.external_id = Some("00u-ada".into());
    let handed_over = next(&deleted, |u| u.link.relinked_to = Some(uid("u-ada-2")));
    s.create_returning_user(&org, &back, &deleted.user, &handed_over)
        .await?;
    for key in [&by_x, &by_name] {
        assert_eq!(
            s.token_with_returning(&org, id, key).await?,
            (token.clone(), Returnable::None),
            "taken over: {key:?}"
        );
    }
    // deleted again, after the index: filed by its deletion
    let gone = next(&back, |u| u.deleted = true);
    s.delete_user(&org, &back.user, &gone).await?;
    for key in [&by_x, &by_name] {
        assert_eq!(
            s.token_with_returning(&org, id, key).await?,
            (token.clone(), Returnable::Maybe),
            "deleted: {key:?}"
        );
    }

    // an organization created now is indexed from its start; another
    // organization's index says nothing of it
    let created = fresh_org();
    s.create_org(&Organization::new(
        created.clone(),
        "Contract",
        "2026-12-01T09:00:00.000Z",
    ))
    .await?;
    assert_eq!(
        s.token_with_returning(&created, id, &by_x).await?,
        (None, Returnable::None),
        "a new organization; the other's token is not its"
    );
    Ok(())
}
