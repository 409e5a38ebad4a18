//! The users service.

use serde_json::json;
use user_sync_core::clock::{Clock, IdSource};
use user_sync_core::memory::MemoryStore;
use user_sync_core::ports::{Groups, Memberships, StoredUser, UserLookup, Users};
use user_sync_core::scim::user::UserInput;
use user_sync_core::service::scim_groups::ScimGroups;
use user_sync_core::service::scim_users::{ScimUserError, ScimUsers};

use crate::{World, ada, patch, user_input, with_org, world};

fn users(w: &World) -> ScimUsers<'_, MemoryStore, impl Clock, impl IdSource> {
    ScimUsers::new(&w.store, &w.clock, &w.ids)
}

/// Creates `input` through the service, which must accept it.
async fn created(w: &World, input: UserInput) -> StoredUser {
    users(w).create(&w.org, input).await.unwrap()
}

#[tokio::test]
async fn a_created_user_is_version_1_at_the_clock_with_a_fresh_id() {
    let w = world();
    let u = created(&w, ada("ada@example.com", Some("00u1"))).await;
    assert_eq!(u.user.id.as_str(), "00000000-0000-4000-8000-000000000001");
    assert_eq!(u.user.version, 1);
    assert_eq!(u.user.created, "2026-12-01T09:00:00.000Z");
    assert_eq!(u.user.last_modified, u.user.created);
    let got = users(&w).get(&w.org, u.user.id.as_str()).await.unwrap();
    assert_eq!(got, u);
}

#[tokio::test]
async fn user_names_are_unique_ignoring_case() {
    let w = world();
    created(&w, ada("ada@example.com", None)).await;
    let bob = created(&w, ada("bob@example.com", None)).await;
    let again = users(&w).create(&w.org, ada("ADA@example.com", None)).await;
    assert!(matches!(again, Err(ScimUserError::Uniqueness)), "{again:?}");
    // a rename onto a taken name too
    let body = json!({"userName": "Ada@Example.com"});
    let renamed = users(&w)
        .replace(&w.org, bob.user.id.as_str(), None, &body)
        .await;
    assert!(
        matches!(renamed, Err(ScimUserError::Uniqueness)),
        "{renamed:?}"
    );
    assert_eq!(w.store.user_count(), 2);
}

#[tokio::test]
async fn if_match_must_name_the_stored_version() {
    let w = world();
    let u = created(&w, ada("ada@example.com", None)).await;
    let id = u.user.id.as_str();
    let body = json!({"userName": "ada@example.com", "name": {"givenName": "Augusta"}});
    for stale in ["W/\"2\"", "\"7\"", "not a tag"] {
        let r = users(&w).replace(&w.org, id, Some(stale), &body).await;
        assert!(
            matches!(r, Err(ScimUserError::PreconditionFailed)),
            "{stale}: {r:?}"
        );
        let r = users(&w).delete(&w.org, id, Some(stale)).await;
        assert!(
            matches!(r, Err(ScimUserError::PreconditionFailed)),
            "{stale}"
        );
    }
    w.later();
    let written = users(&w)
        .replace(&w.org, id, Some("W/\"1\""), &body)
        .await
        .unwrap();
    assert!(written.changed);
    assert_eq!(written.user.user.version, 2);
    assert_eq!(written.user.user.given_name.as_deref(), Some("Augusta"));
    assert_eq!(written.user.user.last_modified, "2026-12-01T09:01:00.000Z");
    assert_eq!(written.user.user.created, "2026-12-01T09:00:00.000Z");
    let any = json!({"userName": "ada@example.com", "name": {"givenName": "Ada"}});
    let written = users(&w)
        .replace(&w.org, id, Some("*"), &any)
        .await
        .unwrap();
    assert_eq!(written.user.user.version, 3);
}

#[tokio::test]
async fn a_replace_that_leaves_active_out_never_reactivates() {
    let w = world();
    let mut input = ada("ada@example.com", None);
    input.active = false;
    input.attributes["active"] = json!(false);
    let u = users(&w).create(&w.org, input).await.unwrap();
    let body = json!({"userName": "ada@example.com", "name": {"givenName": "Ada"}});
    let written = users(&w)
        .replace(&w.org, u.user.id.as_str(), None, &body)
        .await
        .unwrap();
    assert!(!written.user.user.active);
    assert_eq!(written.user.attributes["active"], json!(false));
}

#[tokio::test]
async fn patch_adds_replaces_and_removes_and_a_no_op_writes_nothing() {
    let w = world();
    let u = created(&w, ada("ada@example.com", None)).await;
    let id = u.user.id.as_str();
    let ops = patch(json!([
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "add", "path": "title", "value": "Countess"},
        {"op": "remove", "path": "name.familyName"}
    ]));
    let written = users(&w).patch(&w.org, id, None, &ops).await.unwrap();
    assert!(written.changed);
    let v2 = written.user;
    assert_eq!(v2.user.version, 2);
    assert_eq!(v2.user.given_name.as_deref(), Some("Augusta"));
    assert_eq!(v2.user.family_name, None);
    assert_eq!(v2.attributes["title"], "Countess");
    // the same values again: no write, same version
    let again = patch(json!([
        {"op": "replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "replace", "path": "title", "value": "Countess"}
    ]));
    let same = users(&w).patch(&w.org, id, None, &again).await.unwrap();
    assert!(!same.changed);
    assert_eq!(same.user, v2);
    let empty = users(&w)
        .patch(&w.org, id, None, &patch(json!([])))
        .await
        .unwrap();
    assert!(!empty.changed);
    assert_eq!(empty.user.user.version, 2);
    // Entra's active "False" deactivates
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let off = users(&w)
        .patch(&w.org, id, Some("W/\"2\""), &off)
        .await
        .unwrap();
    assert!(!off.user.user.active);
    assert_eq!(off.user.user.version, 3);
}

#[tokio::test]
async fn a_bad_patch_is_invalid_with_its_scim_type_and_changes_nothing() {
    let w = world();
    let u = created(&w, ada("ada@example.com", None)).await;
    let id = u.user.id.as_str();
    for (ops, scim_type) in [
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "nonsense", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "frobnicate", "path": "title", "value": "x"}]),
            "invalidSyntax",
        ),
    ] {
        let r = users(&w).patch(&w.org, id, None, &patch(ops.clone())).await;
        match r {
            Err(ScimUserError::Invalid(e)) => assert_eq!(e.scim_type, Some(scim_type), "{ops}"),
            other => panic!("{ops}: {other:?}"),
        }
    }
    assert_eq!(users(&w).get(&w.org, id).await.unwrap(), u);
}

#[tokio::test]
async fn custom_values_are_kept_only_for_captured_attributes() {
    let w = world();
    with_org(&w, &["badge"]).await;
    let ext = user_sync_core::scim::CUSTOM_USER_SCHEMA;
    let input = user_input(json!({"userName": "ada@example.com", ext: {"BADGE": "42"}}));
    let u = users(&w).create(&w.org, input).await.unwrap();
    assert_eq!(u.attributes[ext], json!({"badge": "42"}));
    let unknown = user_input(json!({"userName": "bob@example.com", ext: {"floor": "3"}}));
    let r = users(&w).create(&w.org, unknown).await;
    assert!(matches!(r, Err(ScimUserError::Invalid(_))), "{r:?}");
}

#[tokio::test]
async fn a_deleted_user_is_gone_its_memberships_too_and_its_name_is_free() {
    let w = world();
    let u = created(&w, ada("ada@example.com", None)).await;
    let id = u.user.id.clone();
    let groups = ScimGroups::new(&w.store, &w.clock, &w.ids);
    let sales = groups
        .create(
            &w.org,
            user_sync_core::scim::group::parse_group(
                &json!({"displayName": "Sales", "members": [{"value": id.as_str()}]}),
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .group;
    w.later();
    let left = users(&w)
        .delete(&w.org, id.as_str(), Some("W/\"1\""))
        .await
        .unwrap();
    assert_eq!(left, 1);
    // 404 for every operation
    let body = json!({"userName": "ada@example.com"});
    assert!(matches!(
        users(&w).get(&w.org, id.as_str()).await,
        Err(ScimUserError::NotFound)
    ));
    assert!(matches!(
        users(&w).replace(&w.org, id.as_str(), None, &body).await,
        Err(ScimUserError::NotFound)
    ));
    assert!(matches!(
        users(&w)
            .patch(&w.org, id.as_str(), None, &patch(json!([])))
            .await,
        Err(ScimUserError::NotFound)
    ));
    assert!(matches!(
        users(&w).delete(&w.org, id.as_str(), None).await,
        Err(ScimUserError::NotFound)
    ));
    // kept, suspended, a new version
    let kept = w.store.get_user(&w.org, &id).await.unwrap().unwrap();
    assert!(kept.user.deleted && !kept.user.active);
    assert_eq!(kept.user.version, 2);
    assert_eq!(kept.attributes["active"], json!(false));
    assert_eq!(kept.user.last_modified, "2026-12-01T09:01:00.000Z");
    // its groups no longer list it, and moved on a version
    assert!(w.store.groups_of(&w.org, &id).await.unwrap().is_empty());
    let (members, _) = w.store.members(&w.org, &sales.id, None, 10).await.unwrap();
    assert!(members.is_empty());
    let after = w.store.get_group(&w.org, &sales.id).await.unwrap().unwrap();
    assert_eq!(after.version, sales.version + 1);
    assert_eq!(after.last_modified, "2026-12-01T09:01:00.000Z");
    // the name is free
    assert_eq!(
        w.store
            .find_user_by_user_name(&w.org, "ada@example.com")
            .await
            .unwrap(),
        None
    );
    assert!(
        users(&w)
            .create(&w.org, ada("ada@example.com", None))
            .await
            .is_ok()
    );
    // an id that cannot be a user's
    assert!(matches!(
        users(&w).get(&w.org, "").await,
        Err(ScimUserError::NotFound)
    ));
}

#[tokio::test]
async fn a_returning_person_takes_over_its_deleted_self_by_external_id() {
    let w = world();
    let first = created(&w, ada("ada@example.com", Some("00u1"))).await;
    users(&w)
        .delete(&w.org, first.user.id.as_str(), None)
        .await
        .unwrap();
    w.later();
    // back under another userName, the same externalId
    let back = created(&w, ada("ada.lovelace@example.com", Some("00u1"))).await;
    assert_ne!(back.user.id, first.user.id);
    assert_eq!(back.user.version, 1);
    assert_eq!(back.user.account_key(), &first.user.id);
    assert_eq!(back.user.link.relinked_from.as_ref(), Some(&first.user.id));
    let handed = w
        .store
        .get_user(&w.org, &first.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(handed.user.link.relinked_to.as_ref(), Some(&back.user.id));
    assert_eq!(handed.user.version, 3);
    assert_eq!(handed.user.last_modified, "2026-12-01T09:01:00.000Z");
    // another person with that userName but another externalId is not one
    users(&w)
        .delete(&w.org, back.user.id.as_str(), None)
        .await
        .unwrap();
    let other = created(&w, ada("ada.lovelace@example.com", Some("00u9"))).await;
    assert_eq!(other.user.link, Default::default());
}

#[tokio::test]
async fn without_an_external_id_the_user_name_finds_the_returning_person() {
    let w = world();
    let first = created(&w, ada("ada@example.com", None)).await;
    users(&w)
        .delete(&w.org, first.user.id.as_str(), None)
        .await
        .unwrap();
    let back = created(&w, ada("ADA@example.com", None)).await;
    assert_eq!(back.user.link.relinked_from.as_ref(), Some(&first.user.id));
    assert_eq!(back.user.account_key(), &first.user.id);
    // deleted and back once more: still the first account, taken from the second
    users(&w)
        .delete(&w.org, back.user.id.as_str(), None)
        .await
        .unwrap();
    let third = created(&w, ada("ada@example.com", None)).await;
    assert_eq!(third.user.account_key(), &first.user.id);
    assert_eq!(third.user.link.relinked_from.as_ref(), Some(&back.user.id));
    // a taken-over user is no candidate again
    let first_now = w
        .store
        .get_user(&w.org, &first.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first_now.user.link.relinked_to.as_ref(),
        Some(&back.user.id)
    );
}

#[tokio::test]
async fn a_name_an_earlier_version_left_with_a_deleted_user_is_freed_on_create() {
    let w = world();
    let first = created(&w, ada("ada@example.com", Some("00u1"))).await;
    // as an earlier version deleted: marked deleted, the name still held
    let mut old = first.clone();
    old.user.deleted = true;
    old.user.active = false;
    old.user.version = 2;
    w.store
        .replace_user(&w.org, &first.user, &old)
        .await
        .unwrap();
    let again = created(&w, ada("ada@example.com", Some("00u2"))).await;
    assert_eq!(again.user.user_name, "ada@example.com");
    let freed = w
        .store
        .get_user(&w.org, &first.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(freed.user.version, 3);
}
