//! The contract of [`Groups`] and [`Memberships`].

use std::collections::{BTreeSet, HashMap};

use super::users::stored_user;
use super::{Checked, all_pages, assert_conflict, fresh_org, gid, uid};
use crate::directory::DirectoryGroup;
use crate::ids::{GroupId, UserId};
use crate::ports::{Groups, Memberships, Users};

/// A group `id` named `name`, at version 1.
pub fn group(id: &str, name: &str) -> DirectoryGroup {
    DirectoryGroup {
        id: gid(id),
        display_name: name.to_owned(),
        external_id: None,
        created: "2026-01-02T03:04:05.000Z".into(),
        last_modified: "2026-01-02T03:04:05.000Z".into(),
        version: 1,
    }
}

/// Every check of the directory's groups and memberships.
pub async fn groups<S: Groups + Memberships>(s: &S) -> Checked {
    group_items(s).await?;
    memberships(s).await?;
    versioned_memberships(s).await
}

/// A group's new version with its membership changes: written together,
/// and none of them when the version moved on; few changes or many.
pub async fn versioned_memberships<S: Groups + Memberships>(s: &S) -> Checked {
    let org = fresh_org();
    let mut sales = group("g-sales", "Sales");
    s.create_group(&org, &sales).await?;
    let (o, g) = (&org, &gid("g-sales"));
    let listed = || async move {
        let (ids, _) = s.members(o, g, None, 100).await?;
        Ok::<_, crate::StoreError>(ids)
    };

    // one member added with the version
    sales.version = 2;
    s.update_group(&org, &sales, &[uid("u-1")], &[]).await?;
    assert_eq!(listed().await?, [uid("u-1")]);
    assert_eq!(
        s.groups_of(&org, &uid("u-1")).await?,
        BTreeSet::from([sales.id.clone()])
    );
    assert_eq!(s.get_group(&org, &sales.id).await?, Some(sales.clone()));

    // a stale version: no membership changes
    assert_conflict(
        s.update_group(&org, &sales, &[uid("u-2")], &[uid("u-1")])
            .await,
        "members with a stale version",
    );
    assert_eq!(listed().await?, [uid("u-1")], "nothing changed");
    assert!(s.groups_of(&org, &uid("u-2")).await?.is_empty());

    // removed and added in one write: the user stays; another one leaves
    sales.version = 3;
    s.update_group(&org, &sales, &[uid("u-1"), uid("u-2")], &[uid("u-1")])
        .await?;
    assert_eq!(listed().await?, [uid("u-1"), uid("u-2")]);
    sales.version = 4;
    s.update_group(&org, &sales, &[], &[uid("u-1")]).await?;
    assert_eq!(listed().await?, [uid("u-2")]);
    assert!(s.groups_of(&org, &uid("u-1")).await?.is_empty());

    // many changes at once (more than one write holds), and a stale version
    let many: Vec<UserId> = (10..40).map(|i| uid(&format!("u-{i}"))).collect();
    assert_conflict(
        s.update_group(&org, &sales, &many, &[]).await,
        "many members with a stale version",
    );
    assert_eq!(listed().await?, [uid("u-2")], "nothing changed");
    sales.version = 5;
    s.update_group(&org, &sales, &many, &[uid("u-2")]).await?;
    assert_eq!(listed().await?, many);
    assert_eq!(s.get_group(&org, &sales.id).await?, Some(sales));
    Ok(())
}

/// Create, read, list, versioned update, delete, lookup by name.
pub async fn group_items<S: Groups>(s: &S) -> Checked {
    let org = fresh_org();
    let sales = group("g-sales", "Sales");
    s.create_group(&org, &sales).await?;
    assert_eq!(s.get_group(&org, &sales.id).await?, Some(sales.clone()));
    assert_eq!(s.get_group(&org, &gid("g-none")).await?, None);
    assert_conflict(
        s.create_group(&org, &group("g-sales", "Other")).await,
        "a group id that exists",
    );
    assert_eq!(
        s.get_group(&fresh_org(), &sales.id).await?,
        None,
        "another organization"
    );

    let mut renamed = sales.clone();
    renamed.display_name = "Sales EMEA".into();
    renamed.version = 2;
    s.update_group(&org, &renamed, &[], &[]).await?;
    assert_eq!(s.get_group(&org, &sales.id).await?, Some(renamed.clone()));
    assert_conflict(
        s.update_group(&org, &renamed, &[], &[]).await,
        "an update over a stale version",
    );
    let mut skipped = renamed.clone();
    skipped.version = 4;
    assert_conflict(
        s.update_group(&org, &skipped, &[], &[]).await,
        "an update skipping a version",
    );
    assert_conflict(
        s.update_group(&org, &group("g-none", "x"), &[], &[]).await,
        "an update of a missing group",
    );

    for (id, name) in [
        ("g-3", "sales emea"),
        ("g-1", "Support"),
        ("g-2", "SALES EMEA"),
    ] {
        s.create_group(&org, &group(id, name)).await?;
    }
    let named: Vec<GroupId> = s
        .find_groups_by_name(&org, "Sales emea", 10)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        named,
        [gid("g-2"), gid("g-3"), gid("g-sales")],
        "ignoring case"
    );
    assert_eq!(
        s.find_groups_by_name(&org, "sales emea", 2).await?.len(),
        2,
        "at most limit"
    );
    assert!(
        s.find_groups_by_name(&org, "Sales", 10).await?.is_empty(),
        "the old name"
    );

    let o = &org;
    let listed = all_pages(2, |after: Option<GroupId>| async move {
        s.list_groups(o, after.as_ref(), 2).await
    })
    .await?;
    let listed: Vec<GroupId> = listed.into_iter().map(|g| g.id).collect();
    assert_eq!(
        listed,
        [gid("g-1"), gid("g-2"), gid("g-3"), gid("g-sales")],
        "id order"
    );

    s.delete_group(&org, &gid("g-2")).await?;
    assert_eq!(s.get_group(&org, &gid("g-2")).await?, None);
    s.delete_group(&org, &gid("g-2")).await?;
    s.delete_group(&org, &gid("g-none")).await?;
    assert_eq!(
        s.find_groups_by_name(&org, "sales emea", 10).await?.len(),
        2
    );
    Ok(())
}

/// Adding and removing members, harmlessly repeated; reading both sides.
pub async fn memberships<S: Groups + Memberships>(s: &S) -> Checked {
    let org = fresh_org();
    let (sales, support) = (gid("g-sales"), gid("g-support"));
    s.create_group(&org, &group("g-sales", "Sales")).await?;
    s.create_group(&org, &group("g-support", "Support")).await?;
    let users: Vec<UserId> = ["u-3", "u-1", "u-2", "u-4"].map(uid).to_vec();
    s.add_members(&org, &sales, &users).await?;
    s.add_members(&org, &sales, &users[..2]).await?;
    s.add_members(&org, &support, &[uid("u-1")]).await?;
    s.add_members(&org, &sales, &[]).await?;

    assert_eq!(s.count_members(&org, &sales).await?, 4);
    assert_eq!(s.count_members(&org, &gid("g-none")).await?, 0);
    let (o, sales_ref) = (&org, &sales);
    let members = all_pages(3, |after: Option<UserId>| async move {
        s.members(o, sales_ref, after.as_ref(), 3).await
    })
    .await?;
    assert_eq!(members, ["u-1", "u-2", "u-3", "u-4"].map(uid), "id order");
    let (after_two, _) = s.members(&org, &sales, Some(&uid("u-2")), 10).await?;
    assert_eq!(after_two, ["u-3", "u-4"].map(uid));
    assert_eq!(
        s.groups_of(&org, &uid("u-1")).await?,
        BTreeSet::from([sales.clone(), support.clone()])
    );
    assert!(s.groups_of(&org, &uid("u-none")).await?.is_empty());

    // few groups (user × group keys) and many (each user's own groups)
    let wanted = BTreeSet::from([support.clone(), gid("g-none")]);
    let among = s
        .memberships_among(&org, &["u-1", "u-2", "u-9"].map(uid), &wanted)
        .await?;
    assert_eq!(
        among,
        HashMap::from([(uid("u-1"), BTreeSet::from([support.clone()]))])
    );
    let many: BTreeSet<GroupId> = (0..40)
        .map(|i| gid(&format!("g-x{i}")))
        .chain([sales.clone(), support.clone()])
        .collect();
    let among = s
        .memberships_among(&org, &["u-1", "u-2", "u-9"].map(uid), &many)
        .await?;
    assert_eq!(
        among,
        HashMap::from([
            (uid("u-1"), BTreeSet::from([sales.clone(), support.clone()])),
            (uid("u-2"), BTreeSet::from([sales.clone()])),
        ]),
        "users in none left out"
    );
    assert!(s.memberships_among(&org, &[], &many).await?.is_empty());
    assert!(
        s.memberships_among(&org, &users, &BTreeSet::new())
            .await?
            .is_empty()
    );

    s.remove_members(&org, &sales, &[uid("u-1"), uid("u-9")])
        .await?;
    s.remove_members(&org, &sales, &[uid("u-1")]).await?;
    assert_eq!(s.count_members(&org, &sales).await?, 3);
    assert_eq!(
        s.groups_of(&org, &uid("u-1")).await?,
        BTreeSet::from([support])
    );
    assert!(
        s.groups_of(&fresh_org(), &uid("u-2")).await?.is_empty(),
        "another organization"
    );
    Ok(())
}

/// A group read with the users to add to it: the group as stored, and only
/// the users that exist (in this organization).
pub async fn group_with_users<S: Groups + Users>(s: &S) -> Checked {
    let (org, other) = (fresh_org(), fresh_org());
    let sales = group("g-sales", "Sales");
    s.create_group(&org, &sales).await?;
    s.create_user(&org, &stored_user("u-ada", "ada@example.com"))
        .await?;
    s.create_user(&other, &stored_user("u-grace", "grace@example.com"))
        .await?;
    let (found, users) = s
        .group_with_users(
            &org,
            &sales.id,
            &[uid("u-ada"), uid("u-grace"), uid("u-none")],
        )
        .await?;
    assert_eq!(found, Some(sales.clone()));
    let ids: Vec<UserId> = users.into_iter().map(|u| u.user.id).collect();
    assert_eq!(
        ids,
        [uid("u-ada")],
        "another organization's user is not found"
    );
    let (found, users) = s.group_with_users(&org, &gid("g-none"), &[]).await?;
    assert_eq!((found, users.len()), (None, 0));
    let (found, users) = s
        .group_with_users(&other, &sales.id, &[uid("u-grace")])
        .await?;
    assert_eq!(found, None, "another organization's group is not found");
    assert_eq!(users.len(), 1);
    Ok(())
}
