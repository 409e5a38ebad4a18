//! The activity history from the admin's side: filters (action, outcome,
//! rule, user, time range), pagination under a filter, and exports as CSV
//! and JSON lines.

use serde_json::{Value, json};

use crate::admin::{TestOrg, id};

fn actions(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {body}"))
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_is_filtered_paged_and_exported() {
    let a = TestOrg::new("history").await;
    let group = a.scim().group("Sales").await;
    let mut rules = Vec::new();
    for p in ["G2M", "G2W", "G2T"] {
        rules.push(
            a.admin()
                .rule(
                    json!({"groupId": group, "products": [p], "description": format!("=cmd|{p}")}),
                )
                .await,
        );
    }
    let first = &rules[0];
    let changed = a
        .admin()
        .patch_rule(first, json!({"products": ["G2M", "G2C"]}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);

    let all = a.admin().get("/activity").await;
    assert_eq!(
        actions(&all.body),
        [
            "rule_updated",
            "rule_created",
            "rule_created",
            "rule_created"
        ]
    );

    // by action, page by page
    let mut seen = Vec::new();
    let mut path = "/activity?action=rule_created&limit=1".to_owned();
    loop {
        let page = a.admin().get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(actions(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(c) => path = format!("/activity?action=rule_created&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["rule_created"; 3]);

    // by rule, by outcome, by time range
    let by_rule = a
        .admin()
        .get(&format!("/activity?ruleId={}", id(first)))
        .await;
    assert_eq!(actions(&by_rule.body), ["rule_updated", "rule_created"]);
    let failed = a.admin().get("/activity?outcome=failure").await;
    assert!(actions(&failed.body).is_empty());
    let newest_at = all.body["items"][0]["at"].as_str().unwrap().to_owned();
    let since = a
        .admin()
        .get(&format!(
            "/activity?from={}",
            user_sync_tests::enc(&newest_at)
        ))
        .await;
    assert_eq!(actions(&since.body), ["rule_updated"]);
    let until = a
        .admin()
        .get(&format!(
            "/activity?to={}&action=rule_updated",
            user_sync_tests::enc("2020-01-01T00:00:00Z")
        ))
        .await;
    assert!(actions(&until.body).is_empty());

    // bad filters name the parameter
    for (query, param) in [
        ("action=nothing", "action"),
        ("outcome=maybe", "outcome"),
        ("from=yesterday", "from"),
        ("userId=a%23b", "userId"),
    ] {
        let r = a.admin().get(&format!("/activity?{query}")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().starts_with(param),
            "{}",
            r.body
        );
    }

    // exports
    let csv = a.admin().get("/activity/export?format=csv").await;
    assert_eq!(csv.status, 200);
    let text = csv.body.as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "at,actor,action,subjectKind,subjectId,outcome,failureClass,details"
    );
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].contains(",rule_updated,rule,"), "{text}");
    let jsonl = a
        .admin()
        .get("/activity/export?format=jsonl&action=rule_created")
        .await;
    assert_eq!(jsonl.status, 200);
    let entries: Vec<Value> = jsonl
        .body
        .as_str()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e["action"] == "rule_created"));
    let r = a.admin().get("/activity/export").await;
    assert_eq!(r.status, 400, "{}", r.body);
}

/// Every activity item of an organization as stored: id → `expiresAt`.
async fn expiries(org: &str) -> std::collections::BTreeMap<String, i64> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use user_sync_tests::{sdk_config, stack};
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    ddb.query()
        .table_name(&stack().state_table)
        .consistent_read(true)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("{org}#ACTIVITY")))
        .send()
        .await
        .unwrap()
        .items
        .unwrap()
        .into_iter()
        .map(|i| {
            (
                i["sk"].as_s().unwrap().clone(),
                i["expiresAt"].as_n().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn days_from_now(expires: i64) -> f64 {
    (expires - time::OffsetDateTime::now_utc().unix_timestamp()) as f64 / 86_400.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_shorten_the_history_and_a_retention_only_concerns_later_entries() {
    use user_sync_aws::dynamo::StateTable;
    use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
    use user_sync_core::ids::OrgId;
    use user_sync_core::ports::ActivityLog;
    use user_sync_core::state::Outcome;
    use user_sync_tests::{sdk_config, stack};

    let a = TestOrg::new("retention").await;
    let org = OrgId::parse(&a.org_id).unwrap();

    // an admin token cannot set a retention that would drop its own trail
    // within days: below 90 days is ops' decision
    for (body, status) in [
        (json!({"retentionDays": 1}), 422),
        (json!({"retentionDays": 89}), 422),
        (json!({"retentionDays": 0}), 422),
        (json!({"retentionDays": 3651}), 422),
        (json!({"retentionDays": 90, "days": 1}), 422),
    ] {
        let r = a.admin().put("/activity/settings", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    let r = a
        .admin()
        .put("/activity/settings", json!({"retentionDays": 1}))
        .await;
    assert_eq!(r.body["code"], "invalid_settings");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("at least 90 days"), "{detail}");
    assert!(detail.contains("only ops"), "{detail}");
    let read = a.admin().get("/activity/settings").await;
    assert_eq!(
        read.body,
        json!({"retentionDays": null, "version": 0}),
        "nothing refused was stored"
    );

    // entries written earlier: one 200 days ago under a 365-day retention,
    // and one whose 1-day retention ran out yesterday (not yet deleted by
    // the TTL)
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let entry = |days_ago: i64, suffix: &str, action: Action| {
        ActivityEntry::new(
            user_sync_core::time::format(
                time::OffsetDateTime::now_utc() - time::Duration::days(days_ago),
            ),
            suffix,
            "Sync user",
            action,
            Subject {
                kind: SubjectKind::User,
                id: format!("u-{suffix}"),
            },
            Outcome::Success,
        )
    };
    StateTable::new(ddb.clone(), stack().state_table.clone(), 365)
        .append_activity(&org, &entry(200, "old", Action::AccountCreated))
        .await
        .unwrap();
    StateTable::new(ddb.clone(), stack().state_table.clone(), 1)
        .append_activity(&org, &entry(2, "expired", Action::AccountUpdated))
        .await
        .unwrap();

    // an admin's own retention, written before anything of this
    // organization was read (and cached): its entry is kept 400 days
    let r = a
        .admin()
        .if_match(
            "PUT",
            "/activity/settings",
            Some(&json!({"retentionDays": 400})),
            read.etag.as_deref().unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = expiries(&a.org_id).await;
    assert_eq!(before.len(), 3);
    let changed = before
        .iter()
        .find(|(k, _)| k.contains("RetentionChanged"))
        .map(|(_, v)| *v)
        .unwrap();
    assert!((399.9..=400.0).contains(&days_from_now(changed)));

    // lowered to the floor by the admin, then to 1 day by ops
    let r = a
        .admin()
        .if_match(
            "PUT",
            "/activity/settings",
            Some(&json!({"retentionDays": 90})),
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let directory = user_sync_tests::directory().await;
    ops::set_activity_retention(&directory, &org, Some(1))
        .await
        .unwrap();
    assert_eq!(
        a.admin().get("/activity/settings").await.body,
        json!({"retentionDays": 1, "version": 3})
    );
    let r = a
        .admin()
        .if_match(
            "PUT",
            "/activity/settings",
            Some(&json!({"retentionDays": 30})),
            "\"3\"",
        )
        .await;
    assert_eq!(r.status, 422, "still below the floor for an admin");

    // no entry written before was rewritten: each keeps its expiry
    let after = expiries(&a.org_id).await;
    for (id, expires) in &before {
        assert_eq!(after.get(id), Some(expires), "{id}");
    }

    // and the history still shows them, old ones included; only the entry
    // past its own expiry is gone
    let shown = a.admin().get("/activity").await;
    assert_eq!(
        actions(&shown.body),
        ["retention_changed", "retention_changed", "account_created"]
    );
    let export = a.admin().get("/activity/export?format=jsonl").await;
    assert_eq!(export.status, 200);
    let text = export.body.as_str().unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");

    // an entry written now, under the organization's retention as it is now
    // (read afresh), expires after 1 day
    StateTable::new(ddb, stack().state_table.clone(), 365)
        .with_org_retention(stack().directory_table.clone())
        .append_activity(&org, &entry(0, "new", Action::AccountSuspended))
        .await
        .unwrap();
    let new = expiries(&a.org_id)
        .await
        .into_iter()
        .find(|(k, _)| k.ends_with("#new"))
        .map(|(_, v)| v)
        .unwrap();
    assert!((0.9..=1.0).contains(&days_from_now(new)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_entries_carry_its_user_name() {
    let a = TestOrg::new("names").await;
    let ann = a.scim().user("ann").await;
    let admins = a.scim().group_with("Admins", &[&ann]).await;
    a.admin()
        .rule(json!({"groupId": admins, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    a.until(&ann, "ann's account", |x| x["status"] == "active")
        .await;
    let path = format!("/activity?userId={ann}&action=account_created");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let entry = loop {
        let page = a.admin().get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if let Some(e) = page.body["items"].get(0) {
            break e.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no account_created entry for ann"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(entry["subject"]["id"], ann.as_str());
    assert_eq!(entry["subjectName"], a.email("ann").as_str());
    // a rule's entry names no user
    let rules = a.admin().get("/activity?action=rule_created").await;
    let rule_entry = &rules.body["items"][0];
    assert_eq!(rule_entry["subject"]["kind"], "rule");
    assert!(rule_entry.get("subjectName").is_none(), "{rule_entry}");
}
