//! The request sequences Okta and Entra ID send, replayed request by request
//! (bodies as those identity providers send them).

use serde_json::json;
use user_sync_tests::{PATCH_OP, enc, new_org, scim_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_provisioning_and_group_push() {
    let org = new_org("okta").await;
    let idp = org.scim();

    // lookup before create, exactly as Okta sends it
    let (status, empty) = idp
        .send(
            "GET",
            &format!(
                "/Users?filter={}&startIndex=1&count=100",
                enc(r#"userName eq "dade.murphy@example.com""#)
            ),
            None,
        )
        .await;
    assert_eq!((status, empty["totalResults"].clone()), (200, json!(0)));

    let (status, user) = idp
        .send(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "dade.murphy@example.com",
                "name": {"givenName": "Dade", "familyName": "Murphy"},
                "emails": [{"primary": true, "value": "dade.murphy@example.com", "type": "work"}],
                "displayName": "Dade Murphy",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "active": true
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(
        user.get("groups").is_none(),
        "read-only groups are not stored"
    );

    // a full-object PUT with a changed name
    let (status, put) = idp
        .send(
            "PUT",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": id,
                "userName": "dade.murphy@example.com",
                "name": {"givenName": "Crash", "familyName": "Override"},
                "emails": [{"primary": true, "value": "dade.murphy@example.com", "type": "work"}],
                "active": true,
                "externalId": "00ujl29u0le5T6Aj10h7"
            })),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["name"]["givenName"], "Crash");
    assert_eq!(put["meta"]["version"], "W/\"2\"");

    // deactivation: a path-less replace
    let (status, off) = idp
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]})),
        )
        .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["active"], false);

    // Group Push: create empty, rename, add, remove, replace the members
    let (status, group) = idp
        .send(
            "POST",
            "/Groups",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Hackers", "members": []})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    let (status, renamed) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Elite Hackers"}}]})),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["displayName"], "Elite Hackers");

    let (_, second) = idp
        .send(
            "POST",
            "/Users",
            Some(json!({"userName": "kate.libby@example.com", "active": true})),
        )
        .await;
    let kate = second["id"].as_str().unwrap().to_owned();
    let (status, added) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [
                {"value": id, "display": "dade.murphy@example.com"}, {"value": kate, "display": "kate.libby@example.com"}
            ]}]})),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["members"].as_array().unwrap().len(), 2);
    let (status, removed) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]})),
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(
        removed["members"],
        json!([{"value": kate, "$ref": scim_url(&format!("/Users/{kate}")), "type": "User"}])
    );
    let (status, replaced) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "members", "value": [{"value": id}]}]})),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["members"].as_array().unwrap().len(), 1);
    assert_eq!(replaced["members"][0]["value"], id.as_str());

    // a rename that names another group's id is refused
    let (status, e) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"Operations": [{"op": "replace", "value": {"id": "someone-else", "displayName": "X"}}]})),
        )
        .await;
    assert_eq!((status, e["scimType"].clone()), (400, json!("mutability")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_provisioning_cycle() {
    let org = new_org("entra").await;
    let idp = org.scim();

    // test connection: a lookup of a random userName
    let (status, none) = idp
        .search(
            "Users",
            r#"userName eq "9a4f3c54-47ab-4b2e-bbd4-7e4b35ec1d0a""#,
        )
        .await;
    assert_eq!((status, none["totalResults"].clone()), (200, json!(0)));

    // lookup by externalId, then create
    let (_, none) = idp
        .search(
            "Users",
            r#"externalId eq "58342554-38d6-4ec8-948c-50044d0a33fd""#,
        )
        .await;
    assert_eq!(none["totalResults"], json!(0));
    let (status, user) = idp
        .send(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "58342554-38d6-4ec8-948c-50044d0a33fd",
                "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com",
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                "roles": [],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering", "manager": {"value": "boss-id"}}
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let (_, found) = idp
        .search(
            "Users",
            r#"externalId eq "58342554-38d6-4ec8-948c-50044d0a33fd""#,
        )
        .await;
    assert_eq!(found["totalResults"], json!(1));

    // a group by displayName, without members; then create it
    let (_, none) = idp
        .send(
            "GET",
            &format!(
                "/Groups?excludedAttributes=members&filter={}",
                enc(r#"displayName eq "Group1DisplayName""#)
            ),
            None,
        )
        .await;
    assert_eq!(none["totalResults"], json!(0));
    let (status, group) = idp
        .send(
            "POST",
            "/Groups",
            Some(json!({"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName", "meta": {"resourceType": "Group"}})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();

    // capitalized ops, a filtered add, a path-less dotted replace
    let (status, patched) = idp
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Ada Lovelace"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "ada@home.example"},
                {"op": "Replace", "value": {"name.givenName": "Ada", "name.familyName": "Lovelace"}},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "new-boss"}
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"]["givenName"], "Ada");
    assert_eq!(patched["displayName"], "Ada Lovelace");
    assert_eq!(patched["emails"].as_array().unwrap().len(), 2);
    assert_eq!(
        patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"value": "new-boss"})
    );

    // membership: add, check, remove with a value array
    let (status, _) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]})),
        )
        .await;
    assert!(status == 200 || status == 204);
    let check = enc(&format!(r#"id eq "{gid}" and members[value eq "{id}"]"#));
    let (_, yes) = idp
        .send(
            "GET",
            &format!("/Groups?filter={check}&excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(yes["totalResults"], json!(1), "{yes}");
    let (status, _) = idp
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": id}]}]})),
        )
        .await;
    assert!(status == 200 || status == 204);
    let (_, no) = idp
        .send(
            "GET",
            &format!("/Groups?filter={check}&excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(no["totalResults"], json!(0));

    // soft delete with a string boolean, reactivation, then a hard DELETE
    let active = |v: &str| json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": v}]});
    let (status, off) = idp
        .send("PATCH", &format!("/Users/{id}"), Some(active("False")))
        .await;
    assert_eq!((status, off["active"].clone()), (200, json!(false)));
    let (status, on) = idp
        .send("PATCH", &format!("/Users/{id}"), Some(active("True")))
        .await;
    assert_eq!((status, on["active"].clone()), (200, json!(true)));
    // an empty Operations array is accepted
    let (status, _) = idp
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": []})),
        )
        .await;
    assert_eq!(status, 200);

    // a hard DELETE: gone for SCIM (RFC 7644 §3.6), the account suspended
    let (status, _) = idp.send("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = idp.send("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404, "a deleted user is not found");
    let (status, _) = idp.send("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404, "nor deleted twice");
    let (_, gone) = idp
        .search(
            "Users",
            r#"userName eq "test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com""#,
        )
        .await;
    assert_eq!(
        gone["totalResults"],
        json!(0),
        "deleted users are omitted from filters"
    );
}
