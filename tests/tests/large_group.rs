//! A group of 20,000 members: PATCH adds and removes members in whatever
//! batch sizes the client sends, GET returns them all (paging through
//! storage), `excludedAttributes=members` does not read them.
//!
//! A test binary of its own, so that it has a stack of its own: cargo runs
//! test binaries one after another, and the emulator's time goes to this
//! test alone (about 2.5 minutes here, nearly all of it in the emulator).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use serde_json::json;
use user_sync_core::directory::DirectoryUser;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_tests::{PATCH_OP, new_org, put_users, sdk_config, stack};

const MEMBERS: usize = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the timings belong in the test log
async fn a_group_of_twenty_thousand_members() {
    let org = new_org("big").await;
    let started = Instant::now();
    let (_, g) = org
        .scim()
        .send("POST", "/Groups", Some(json!({"displayName": "Everyone"})))
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();

    // the members are users of the organization (a member that is not is
    // refused): written straight into the directory, as creating 20,000
    // through SCIM would measure SCIM instead
    let org_id = OrgId::parse(&org.org_id).unwrap();
    let users: Vec<DirectoryUser> = (0..MEMBERS)
        .map(|i| user_sync_core::memory::member(&UserId::parse(&format!("member-{i:05}")).unwrap()))
        .collect();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    put_users(&ddb, &stack().directory_table, &org_id, &users).await;
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    // batch sizes as different clients send them: 1000 (Okta's maximum), 500, 1
    let mut at = 0;
    for size in std::iter::repeat_n(1000usize, 15)
        .chain(std::iter::repeat_n(500usize, 9))
        .chain(std::iter::repeat_n(1usize, 500))
    {
        let batch: Vec<_> = ids[at..at + size]
            .iter()
            .map(|v| json!({"value": v}))
            .collect();
        let (status, body) = org.scim().send("PATCH", &format!("/Groups/{gid}?excludedAttributes=members"), Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": batch}]})))
            .await;
        assert!(status == 204 || status == 200, "{status} {body}");
        at += size;
    }
    assert_eq!(at, MEMBERS);
    let added = started.elapsed();

    let t = Instant::now();
    let (status, full) = org
        .scim()
        .send("GET", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(full["members"].as_array().unwrap().len(), MEMBERS);
    let read = t.elapsed();

    let (_, lean) = org
        .scim()
        .send(
            "GET",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(lean.get("members").is_none());

    // remove 1,001 members in one request, as filters and as a value array
    let mut ops: Vec<_> = ids[..1000]
        .iter()
        .map(|v| json!({"op": "remove", "path": format!("members[value eq \"{v}\"]")}))
        .collect();
    ops.truncate(999);
    ops.push(json!({"op": "remove", "path": "members", "value": [{"value": ids[999]}, {"value": ids[1000]}]}));
    let (status, _) = org
        .scim()
        .send(
            "PATCH",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            Some(json!({"schemas": [PATCH_OP], "Operations": ops})),
        )
        .await;
    assert!(status == 204 || status == 200);
    let (_, after) = org
        .scim()
        .send("GET", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(after["members"].as_array().unwrap().len(), MEMBERS - 1001);
    println!("20,000 members: added in {added:?} (524 PATCH requests), read back in {read:?}");
}
