//! The groups service.

use serde_json::json;
use user_sync_core::clock::{Clock, IdSource};
use user_sync_core::directory::DirectoryGroup;
use user_sync_core::ids::UserId;
use user_sync_core::memory::member;
use user_sync_core::ports::{Groups, Memberships, Organizations, StoredUser, UserLookup, Users};
use user_sync_core::scim::group::{GroupInput, MAX_MEMBERS_PER_REQUEST, parse_group};
use user_sync_core::scim::patch::{PatchOp, parse_patch};
use user_sync_core::service::scim_groups::{ScimGroupError, ScimGroups};
use user_sync_core::service::scim_users::ScimUsers;

use crate::{World, ada, patch, world};

fn groups<S: Users + Groups + Memberships>(
    w: &World<S>,
) -> ScimGroups<'_, S, impl Clock, impl IdSource> {
    ScimGroups::new(&w.store, &w.clock, &w.ids)
}

fn group(name: &str, members: &[&UserId]) -> GroupInput {
    let members: Vec<_> = members
        .iter()
        .map(|m| json!({"value": m.as_str()}))
        .collect();
    parse_group(&json!({"displayName": name, "members": members})).unwrap()
}

/// Creates `input` through the service, which must accept it.
async fn created<S: Users + Groups + Memberships>(
    w: &World<S>,
    input: GroupInput,
) -> DirectoryGroup {
    groups(w).create(&w.org, input).await.unwrap().group
}

fn ops(list: serde_json::Value) -> Vec<PatchOp> {
    parse_patch(&patch(list)).unwrap()
}

/// Three users of the organization.
async fn people<S: Users + UserLookup + Groups + Memberships + Organizations>(
    w: &World<S>,
) -> Vec<UserId> {
    let users = ScimUsers::new(&w.store, &w.clock, &w.ids);
    let mut out = Vec::new();
    for name in ["ada", "bob", "cy"] {
        let u = users
            .create(&w.org, ada(&format!("{name}@example.com"), None))
            .await
            .unwrap();
        out.push(u.user.id);
    }
    out
}

async fn members<S: Memberships>(w: &World<S>, g: &user_sync_core::ids::GroupId) -> Vec<UserId> {
    w.store.members(&w.org, g, None, 100).await.unwrap().0
}

#[tokio::test]
async fn a_group_is_created_with_users_of_the_organization_only() {
    let w = world();
    let p = people(&w).await;
    let created = groups(&w)
        .create(&w.org, group("Sales", &[&p[1], &p[0], &p[1]]))
        .await
        .unwrap();
    assert_eq!(created.group.version, 1);
    assert_eq!(created.group.created, "2026-12-01T09:00:00.000Z");
    assert_eq!(created.members, Some(vec![p[1].clone(), p[0].clone()]));
    let mut sorted = vec![p[0].clone(), p[1].clone()];
    sorted.sort();
    assert_eq!(members(&w, &created.group.id).await, sorted);
    // another organization's, a made-up one, a deleted one
    ScimUsers::new(&w.store, &w.clock, &w.ids)
        .delete(&w.org, p[2].as_str(), None)
        .await
        .unwrap();
    let stranger = UserId::parse("00000000-0000-4000-8000-0000000000ff").unwrap();
    for bad in [&stranger, &p[2]] {
        let r = groups(&w).create(&w.org, group("Ops", &[&p[0], bad])).await;
        match r {
            Err(ScimGroupError::Invalid(e)) => {
                assert_eq!(e.scim_type, Some("invalidValue"));
                assert!(
                    e.detail.contains("is not a user of this organization"),
                    "{}",
                    e.detail
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let many: Vec<String> = (0..=MAX_MEMBERS_PER_REQUEST)
        .map(|i| format!("u{i}"))
        .collect();
    let too_many = GroupInput {
        display_name: "Big".into(),
        external_id: None,
        members: many,
    };
    assert!(matches!(
        groups(&w).create(&w.org, too_many).await,
        Err(ScimGroupError::Invalid(_))
    ));
}

#[tokio::test]
async fn patch_adds_and_removes_members_each_a_new_version() {
    let w = world();
    let p = people(&w).await;
    let g = created(&w, group("Sales", &[&p[0]])).await;
    let id = g.id.as_str();
    w.later();
    let added = groups(&w)
        .patch(&w.org, id, Some("W/\"1\""), &ops(json!([
            {"op": "Add", "path": "members", "value": [{"value": p[1].as_str()}, {"value": p[2].as_str()}]}
        ])))
        .await
        .unwrap();
    assert_eq!((added.group.version, added.added, added.removed), (2, 2, 0));
    assert_eq!(added.group.last_modified, "2026-12-01T09:01:00.000Z");
    assert_eq!(members(&w, &g.id).await.len(), 3);
    let filter = format!("members[value eq \"{}\"]", p[0]);
    let removed = groups(&w)
        .patch(
            &w.org,
            id,
            None,
            &ops(json!([{"op": "remove", "path": filter}])),
        )
        .await
        .unwrap();
    assert_eq!((removed.group.version, removed.removed), (3, 1));
    assert!(!members(&w, &g.id).await.contains(&p[0]));
    // remove every member but the one added in the same request
    let all = groups(&w)
        .patch(
            &w.org,
            id,
            None,
            &ops(json!([
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": [{"value": p[0].as_str()}]}
            ])),
        )
        .await
        .unwrap();
    assert_eq!(all.group.version, 4);
    assert_eq!(members(&w, &g.id).await, vec![p[0].clone()]);
    // a member that is not a user is refused, nothing written
    let r = groups(&w)
        .patch(
            &w.org,
            id,
            None,
            &ops(json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}])),
        )
        .await;
    assert!(matches!(r, Err(ScimGroupError::Invalid(_))), "{r:?}");
    assert_eq!(
        w.store
            .get_group(&w.org, &g.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        4
    );
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version() {
    let w = world();
    let p = people(&w).await;
    let g = created(&w, group("Sales", &[&p[0]])).await;
    let id = g.id.as_str();
    let none = groups(&w)
        .patch(&w.org, id, None, &ops(json!([])))
        .await
        .unwrap();
    assert_eq!(none.group, g);
    let same = groups(&w)
        .patch(
            &w.org,
            id,
            None,
            &ops(json!([{"op": "replace", "value": {"displayName": "Sales"}}])),
        )
        .await
        .unwrap();
    assert_eq!(same.group.version, 1);
    let renamed = groups(&w)
        .patch(
            &w.org,
            id,
            None,
            &ops(json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}])),
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.group.version, renamed.group.display_name.as_str()),
        (2, "Sales EMEA")
    );
}

#[tokio::test]
async fn if_match_and_the_read_only_id_are_checked() {
    let w = world();
    let p = people(&w).await;
    let g = created(&w, group("Sales", &[&p[0]])).await;
    let id = g.id.as_str();
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": p[1].as_str()}]}]));
    let r = groups(&w).patch(&w.org, id, Some("W/\"9\""), &add).await;
    assert!(
        matches!(r, Err(ScimGroupError::PreconditionFailed)),
        "{r:?}"
    );
    let r = groups(&w)
        .replace(&w.org, id, Some("W/\"9\""), group("Sales", &[]))
        .await;
    assert!(
        matches!(r, Err(ScimGroupError::PreconditionFailed)),
        "{r:?}"
    );
    let r = groups(&w).delete(&w.org, id, Some("W/\"9\"")).await;
    assert!(
        matches!(r, Err(ScimGroupError::PreconditionFailed)),
        "{r:?}"
    );
    // Okta sends the group's own id along: harmless; another one is not
    let own = ops(json!([{"op": "replace", "value": {"id": id, "displayName": "Sales"}}]));
    assert!(groups(&w).patch(&w.org, id, None, &own).await.is_ok());
    let other = ops(json!([{"op": "replace", "value": {"id": "another", "displayName": "Sales"}}]));
    match groups(&w).patch(&w.org, id, None, &other).await {
        Err(ScimGroupError::Invalid(e)) => assert_eq!(e.scim_type, Some("mutability")),
        r => panic!("{r:?}"),
    }
    assert!(matches!(
        groups(&w).get(&w.org, "nope").await,
        Err(ScimGroupError::NotFound)
    ));
    assert!(matches!(
        groups(&w)
            .patch(&w.org, "00000000-0000-4000-8000-0000000000ff", None, &add)
            .await,
        Err(ScimGroupError::NotFound)
    ));
}

#[tokio::test]
async fn replace_sets_the_whole_member_list() {
    let w = world();
    let p = people(&w).await;
    let g = created(&w, group("Sales", &[&p[0], &p[1]])).await;
    let r = groups(&w)
        .replace(
            &w.org,
            g.id.as_str(),
            Some("W/\"1\""),
            group("Sales", &[&p[1], &p[2]]),
        )
        .await
        .unwrap();
    assert_eq!((r.group.version, r.added, r.removed), (2, 1, 1));
    let mut want = vec![p[1].clone(), p[2].clone()];
    want.sort();
    assert_eq!(r.members.as_ref(), Some(&want));
    assert_eq!(members(&w, &g.id).await, want);
    // the same list and name again: no new version
    let same = groups(&w)
        .replace(&w.org, g.id.as_str(), None, group("Sales", &[&p[2], &p[1]]))
        .await
        .unwrap();
    assert_eq!(same.group.version, 2);
}

#[tokio::test]
async fn a_deleted_group_is_gone_with_its_memberships() {
    let w = world();
    let p = people(&w).await;
    let g = created(&w, group("Sales", &[&p[0], &p[1]])).await;
    assert_eq!(
        groups(&w)
            .delete(&w.org, g.id.as_str(), Some("W/\"1\""))
            .await
            .unwrap(),
        2
    );
    assert!(matches!(
        groups(&w).get(&w.org, g.id.as_str()).await,
        Err(ScimGroupError::NotFound)
    ));
    assert!(matches!(
        groups(&w).delete(&w.org, g.id.as_str(), None).await,
        Err(ScimGroupError::NotFound)
    ));
    assert!(w.store.groups_of(&w.org, &p[0]).await.unwrap().is_empty());
    assert!(members(&w, &g.id).await.is_empty());
}

#[tokio::test]
async fn concurrent_writers_are_retried_unless_a_version_was_asked_for() {
    let w = world();
    let mut p = Vec::new();
    for n in 1..=3 {
        let id = UserId::parse(&format!("00000000-0000-4000-8000-00000000010{n}")).unwrap();
        let user = StoredUser {
            user: member(&id),
            attributes: json!({}),
        };
        w.store.create_user(&w.org, &user).await.unwrap();
        p.push(id);
    }
    let g = created(&w, group("Sales", &[])).await;
    let id = g.id.as_str();
    let add = |u: &UserId| {
        ops(json!([{"op": "add", "path": "members", "value": [{"value": u.as_str()}]}]))
    };
    // without If-Match: applied to the version the other writer left
    w.store.race_group_updates(1);
    let patched = groups(&w)
        .patch(&w.org, id, None, &add(&p[0]))
        .await
        .unwrap();
    assert_eq!(patched.group.version, 3);
    assert_eq!(patched.group.display_name, "Sales (renamed meanwhile)");
    assert_eq!(members(&w, &g.id).await, vec![p[0].clone()]);
    w.store.race_group_updates(2);
    let replaced = groups(&w)
        .replace(&w.org, id, None, group("Sales", &[&p[1]]))
        .await
        .unwrap();
    assert_eq!(replaced.group.version, 6);
    assert_eq!(members(&w, &g.id).await, vec![p[1].clone()]);
    // with If-Match: the version asked for is gone, 412
    w.store.race_group_updates(1);
    let r = groups(&w)
        .patch(&w.org, id, Some("W/\"6\""), &add(&p[2]))
        .await;
    assert!(matches!(r, Err(ScimGroupError::Conflict(_))), "{r:?}");
    // a writer that wins every attempt: given up after three
    w.store.race_group_updates(3);
    let r = groups(&w).patch(&w.org, id, None, &add(&p[2])).await;
    assert!(matches!(r, Err(ScimGroupError::Conflict(_))), "{r:?}");
    assert!(!members(&w, &g.id).await.contains(&p[2]));
}
