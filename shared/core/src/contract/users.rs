//! The contract of [`Users`] and [`UserLookup`].

use std::collections::BTreeSet;

use super::{Checked, all_pages, assert_conflict, fresh_org, uid};
use crate::directory::{DirectoryStatus, DirectoryUser};
use crate::ids::UserId;
use crate::ports::{StoredUser, UserLookup, Users};

/// A stored user `id`, named `name`, at version 1.
pub fn stored_user(id: &str, name: &str) -> StoredUser {
    let user = DirectoryUser {
        id: uid(id),
        user_name: name.to_owned(),
        external_id: None,
        active: true,
        deleted: false,
        given_name: Some("Ada".into()),
        family_name: Some("Lovelace".into()),
        email: Some(format!("{id}@Example.com")),
        locale: None,
        created: "2026-01-02T03:04:05.000Z".into(),
        last_modified: "2026-01-02T03:04:05.000Z".into(),
        version: 1,
        link: Default::default(),
    };
    StoredUser {
        attributes: serde_json::json!({ "userName": name, "id": id }),
        user,
    }
}

/// The next version of a stored user.
pub(super) fn next(u: &StoredUser, change: impl FnOnce(&mut DirectoryUser)) -> StoredUser {
    let mut n = u.clone();
    change(&mut n.user);
    n.user.version += 1;
    n
}

/// Every check of the directory's users.
pub async fn users<S: Users + UserLookup>(s: &S) -> Checked {
    create_read_replace(s).await?;
    delete_and_return(s).await?;
    listing_and_batches(s).await?;
    lookups(s).await
}

/// Create, read, replace with versions; userNames unique ignoring case.
pub async fn create_read_replace<S: Users + UserLookup>(s: &S) -> Checked {
    let org = fresh_org();
    let ada = stored_user("u-ada", "Ada@Example.com");
    s.create_user(&org, &ada).await?;
    assert_eq!(s.get_user(&org, &ada.user.id).await?, Some(ada.clone()));
    assert_eq!(s.get_user(&org, &uid("u-none")).await?, None);
    assert_conflict(
        s.create_user(&org, &stored_user("u-other", "ada@example.COM"))
            .await,
        "a userName equal ignoring case",
    );
    assert_conflict(
        s.create_user(&org, &stored_user("u-ada", "someone@example.com"))
            .await,
        "an id that exists",
    );
    // another organization has its own userNames
    s.create_user(&fresh_org(), &stored_user("u-ada", "ada@example.com"))
        .await?;

    let renamed = next(&ada, |u| u.user_name = "ada.l@example.com".into());
    s.replace_user(&org, &ada.user, &renamed).await?;
    assert_eq!(s.get_user(&org, &ada.user.id).await?, Some(renamed.clone()));
    assert_conflict(
        s.replace_user(&org, &ada.user, &next(&renamed, |_| {}))
            .await,
        "a replace over a stale version",
    );
    // the old name is free again, the new one is taken
    let grace = stored_user("u-grace", "ADA@example.com");
    s.create_user(&org, &grace).await?;
    assert_conflict(
        s.replace_user(
            &org,
            &grace.user,
            &next(&grace, |u| u.user_name = "Ada.L@Example.com".into()),
        )
        .await,
        "a rename to a userName another user holds",
    );
    assert_eq!(s.get_user(&org, &grace.user.id).await?, Some(grace));
    Ok(())
}

/// Deleting frees the userName but keeps the user findable by it; a
/// returning person takes a deleted user over.
pub async fn delete_and_return<S: Users + UserLookup>(s: &S) -> Checked {
    let org = fresh_org();
    let ada = stored_user("u-ada", "ada@example.com");
    s.create_user(&org, &ada).await?;
    let deleted = next(&ada, |u| {
        u.deleted = true;
        u.active = false;
    });
    assert_conflict(
        s.delete_user(&org, &deleted.user, &next(&deleted, |_| {}))
            .await,
        "a delete over a stale version",
    );
    s.delete_user(&org, &ada.user, &deleted).await?;
    assert_eq!(s.get_user(&org, &ada.user.id).await?, Some(deleted.clone()));
    assert_eq!(
        s.find_user_by_user_name(&org, "ada@example.com").await?,
        None
    );
    assert_eq!(
        s.deleted_users_named(&org, "ADA@example.com", 10).await?,
        vec![deleted.clone()]
    );
    assert_eq!(
        s.deleted_users_named(&org, "ada@example.com", 0).await?,
        vec![]
    );

    let back = stored_user("u-ada-2", "Ada@example.com");
    let handed_over = next(&deleted, |u| u.link = Default::default());
    assert_conflict(
        s.create_returning_user(&org, &back, &ada.user, &handed_over)
            .await,
        "a return over a stale version of the deleted user",
    );
    s.create_returning_user(&org, &back, &deleted.user, &handed_over)
        .await?;
    assert_eq!(s.get_user(&org, &back.user.id).await?, Some(back.clone()));
    assert_eq!(s.get_user(&org, &ada.user.id).await?, Some(handed_over));
    assert_eq!(
        s.find_user_by_user_name(&org, "ada@EXAMPLE.com").await?,
        Some(back.clone())
    );
    assert_eq!(
        s.deleted_users_named(&org, "ada@example.com", 10).await?,
        vec![]
    );
    assert_conflict(
        s.create_returning_user(
            &org,
            &stored_user("u-ada-3", "ada@example.com"),
            &back.user,
            &back,
        )
        .await,
        "a return to a userName that is taken",
    );
    Ok(())
}

/// Listing in id order, batched reads, statuses and counts.
pub async fn listing_and_batches<S: Users + UserLookup>(s: &S) -> Checked {
    let org = fresh_org();
    assert_eq!(s.count_users(&org).await?, 0);
    assert_eq!(s.list_users(&org, None, 10).await?, (vec![], None));
    let ids = ["u-5", "u-1", "u-4", "u-2", "u-3"];
    for id in ids {
        s.create_user(&org, &stored_user(id, &format!("{id}@example.com")))
            .await?;
    }
    let inactive = s.get_user(&org, &uid("u-2")).await?.expect("stored");
    s.replace_user(&org, &inactive.user, &next(&inactive, |u| u.active = false))
        .await?;
    let gone = s.get_user(&org, &uid("u-3")).await?.expect("stored");
    s.delete_user(&org, &gone.user, &next(&gone, |u| u.deleted = true))
        .await?;
    assert_eq!(s.count_users(&org).await?, 5, "deleted users count too");

    let o = &org;
    let listed = all_pages(2, |after: Option<UserId>| async move {
        s.list_users(o, after.as_ref(), 2).await
    })
    .await?;
    let listed: Vec<String> = listed.iter().map(|u| u.user.id.to_string()).collect();
    assert_eq!(listed, ["u-1", "u-2", "u-3", "u-4", "u-5"], "id order");
    let (first, _) = s.list_users(&org, Some(&uid("u-3")), 10).await?;
    assert_eq!(first.len(), 2, "after the cursor");

    let o = &org;
    let statuses = all_pages(3, |after: Option<UserId>| async move {
        s.user_statuses(o, after.as_ref(), 3).await
    })
    .await?;
    let statuses: Vec<(String, DirectoryStatus)> = statuses
        .into_iter()
        .map(|(u, st)| (u.to_string(), st))
        .collect();
    assert_eq!(
        statuses,
        [
            ("u-1".to_owned(), DirectoryStatus::Active),
            ("u-2".to_owned(), DirectoryStatus::Inactive),
            ("u-3".to_owned(), DirectoryStatus::Deleted),
            ("u-4".to_owned(), DirectoryStatus::Active),
            ("u-5".to_owned(), DirectoryStatus::Active),
        ]
    );

    let wanted = ["u-4", "u-missing", "u-1"].map(uid);
    let got: BTreeSet<String> = s
        .get_users(&org, &wanted)
        .await?
        .iter()
        .map(|u| u.user.id.to_string())
        .collect();
    assert_eq!(
        got,
        BTreeSet::from(["u-1".into(), "u-4".into()]),
        "missing ids left out"
    );
    assert!(s.get_users(&org, &[]).await?.is_empty());
    Ok(())
}

/// Lookups by userName and email ignore case; externalIds are exact.
pub async fn lookups<S: Users + UserLookup>(s: &S) -> Checked {
    let org = fresh_org();
    let mut ada = stored_user("u-ada", "Ada@Example.com");
    ada.user.external_id = Some("X-1".into());
    ada.user.email = Some("Ada@Example.com".into());
    let mut twin = stored_user("u-twin", "twin@example.com");
    twin.user.external_id = Some("X-1".into());
    twin.user.email = Some("ADA@example.COM".into());
    s.create_user(&org, &ada).await?;
    s.create_user(&org, &twin).await?;

    assert_eq!(
        s.find_user_by_user_name(&org, "ada@example.com").await?,
        Some(ada.clone())
    );
    assert_eq!(
        s.find_user_by_user_name(&org, "nobody@example.com").await?,
        None
    );
    let by_x = ids(s.find_users_by_external_id(&org, "X-1", 10).await?);
    assert_eq!(by_x, ["u-ada", "u-twin"]);
    assert!(
        s.find_users_by_external_id(&org, "x-1", 10)
            .await?
            .is_empty(),
        "exact"
    );
    assert_eq!(
        s.find_users_by_external_id(&org, "X-1", 1).await?.len(),
        1,
        "at most limit"
    );
    let by_email = ids(s.find_users_by_email(&org, "ada@EXAMPLE.com", 10).await?);
    assert_eq!(by_email, ["u-ada", "u-twin"]);
    assert_eq!(
        s.find_users_by_email(&org, "ada@example.com", 1)
            .await?
            .len(),
        1
    );

    // a changed externalId is found by the new one only
    let changed = next(&ada, |u| u.external_id = Some("X-2".into()));
    s.replace_user(&org, &ada.user, &changed).await?;
    assert_eq!(
        ids(s.find_users_by_external_id(&org, "X-1", 10).await?),
        ["u-twin"]
    );
    assert_eq!(
        ids(s.find_users_by_external_id(&org, "X-2", 10).await?),
        ["u-ada"]
    );
    // another organization sees none of them
    let other = fresh_org();
    assert!(
        s.find_users_by_email(&other, "ada@example.com", 10)
            .await?
            .is_empty()
    );
    assert_eq!(
        s.find_user_by_user_name(&other, "ada@example.com").await?,
        None
    );
    Ok(())
}

fn ids(users: Vec<StoredUser>) -> Vec<String> {
    let mut ids: Vec<String> = users.into_iter().map(|u| u.user.id.to_string()).collect();
    ids.sort();
    ids
}
