//! Settings through the CLI: the catalogue, custom attributes and the
//! guardrail; organizations listed page by page.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_custom_attributes_and_guardrail_are_set() {
    let a = TestOrg::new("opsset").await;
    let org = a.org_id.clone();
    let dir = std::env::temp_dir().join(unique_id("ops-catalog"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("catalog.json");
    std::fs::write(
        &file,
        json!({
            "privileges": [{"id": "manage_users", "name": "Manage users"}],
            "userGroups": [{"id": "sales", "name": "Sales"}, {"id": "emea", "name": "EMEA"}]
        })
        .to_string(),
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let set = ops_cli(&["--output", "json", "catalog", "set", &org, &path])
        .await
        .json();
    assert_eq!(
        set["catalog"],
        json!({"privileges": 1, "userGroups": 2, "deviceGroups": 0, "settingsTemplates": 0})
    );
    let (status, catalog) = get(&api_url("/catalog"), &a.admin_token).await;
    assert_eq!(status, 200);
    assert_eq!(catalog["privileges"][0]["id"], "manage_users");
    assert_eq!(catalog["userGroups"][1]["id"], "emea");

    // an invalid catalogue or file is a usage error; nothing changes; the
    // products are the product API's, never the file's
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"product": []}"#).unwrap();
    let bad = bad.to_string_lossy().into_owned();
    assert_eq!(ops_cli(&["catalog", "set", &org, &bad]).await.code, 2);
    let products = dir.join("products.json");
    std::fs::write(
        &products,
        r#"{"products": [{"id": "G2M", "name": "GoTo Meeting", "seats": 5}]}"#,
    )
    .unwrap();
    let refused = ops_cli(&["catalog", "set", &org, &products.to_string_lossy()]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .err
            .contains("products: products, their names and seats come from the product API"),
        "{refused:?}"
    );
    assert_eq!(
        ops_cli(&["catalog", "set", &org, "/no/such/file.json"])
            .await
            .code,
        2
    );
    let missing = ops_cli(&["catalog", "set", &unique_id("nobody"), &path]).await;
    assert_eq!(missing.code, 1, "{missing:?}");

    let attrs = ops_cli(&["custom-attributes", "set", &org, "badgeNumber, costCenter"]).await;
    assert_eq!(attrs.code, 0, "{attrs:?}");
    assert!(attrs.out.contains("2 custom attribute"), "{}", attrs.out);
    let (_, got) = get(&api_url("/custom-attributes"), &a.admin_token).await;
    assert_eq!(got["attributes"], json!(["badgeNumber", "costCenter"]));
    assert_eq!(
        ops_cli(&["custom-attributes", "set", &org, "badge number"])
            .await
            .code,
        2
    );
    let none = ops_cli(&["--output", "json", "custom-attributes", "set", &org, ""])
        .await
        .json();
    assert_eq!(none["customAttributes"], json!([]));

    let guard = ops_cli(&["--output", "json", "guardrail", "set", &org, "25"])
        .await
        .json();
    assert_eq!(guard["suspensionGuardrailPercent"], 25);
    let stored = user_sync_tests::directory()
        .await
        .get_org(&OrgId::parse(&org).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.suspension_guardrail_percent, 25);
    assert_eq!(stored.custom_attributes, Vec::<String>::new());
    assert_eq!(ops_cli(&["guardrail", "set", &org, "0"]).await.code, 2);

    // ops may keep the history for less than the 90 days admins may set
    let kept = ops_cli(&["activity-retention", "set", &org, "7"]).await;
    assert_eq!(kept.code, 0, "{kept:?}");
    assert!(kept.out.contains("kept 7 day(s)"), "{}", kept.out);
    assert!(kept.err.contains("below the 90 days"), "{}", kept.err);
    let (_, got) = get(&api_url("/activity/settings"), &a.admin_token).await;
    assert_eq!(got["retentionDays"], 7);
    let back = ops_cli(&[
        "--output",
        "json",
        "activity-retention",
        "set",
        &org,
        "default",
    ])
    .await
    .json();
    assert_eq!(back["activityRetentionDays"], Value::Null);
    for bad in ["0", "3651", "a week"] {
        assert_eq!(
            ops_cli(&["activity-retention", "set", &org, bad])
                .await
                .code,
            2,
            "{bad}"
        );
    }
    assert_eq!(
        ops_cli(&["guardrail", "set", &unique_id("nobody"), "20"])
            .await
            .code,
        1
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_are_listed_page_by_page_each_once() {
    let store = user_sync_tests::directory().await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        let org = unique_id("opspage");
        assert_eq!(ops_cli(&["org", "create", &org, "Paged"]).await.code, 0);
        mine.push(org);
    }
    let walk = |limit: usize| {
        let store = &store;
        async move {
            let mut ids = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let (page, next) = store.list_orgs(cursor.as_deref(), limit).await.unwrap();
                assert!(page.len() <= limit);
                ids.extend(page.into_iter().map(|o| o.id.to_string()));
                match next {
                    Some(c) => cursor = Some(c),
                    None => return ids,
                }
            }
        }
    };
    let small = walk(2).await;
    let mut unique_ids = small.clone();
    unique_ids.sort();
    unique_ids.dedup();
    assert_eq!(
        unique_ids.len(),
        small.len(),
        "an organization listed twice"
    );
    for org in &mine {
        assert!(small.contains(org), "{org} missing");
    }
    // pages of another size list the same organizations (and those other
    // tests created meanwhile)
    let large = walk(500).await;
    for id in &small {
        assert!(large.contains(id), "{id}");
    }
    assert!(
        store.list_orgs(Some("not a cursor"), 10).await.is_err(),
        "a foreign cursor is refused"
    );
}
