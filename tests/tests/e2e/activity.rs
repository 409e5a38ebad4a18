//! The activity history from the admin's side: filters (action, outcome,
//! rule, user, time range), pagination under a filter, and exports as CSV
//! and JSON lines.

use serde_json::{Value, json};

use crate::admin::{Admin, id};

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
    let a = Admin::new("history").await;
    let group = a.group("Sales").await;
    let mut rules = Vec::new();
    for p in ["G2M", "G2W", "G2T"] {
        rules.push(
            a.rule(json!({"groupId": group, "products": [p], "description": format!("=cmd|{p}")}))
                .await,
        );
    }
    let first = &rules[0];
    let changed = a
        .patch_rule(first, json!({"products": ["G2M", "G2C"]}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);

    let all = a.api("GET", "/activity", None, &[]).await;
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
        let page = a.api("GET", &path, None, &[]).await;
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
        .api("GET", &format!("/activity?ruleId={}", id(first)), None, &[])
        .await;
    assert_eq!(actions(&by_rule.body), ["rule_updated", "rule_created"]);
    let failed = a.api("GET", "/activity?outcome=failure", None, &[]).await;
    assert!(actions(&failed.body).is_empty());
    let newest_at = all.body["items"][0]["at"].as_str().unwrap().to_owned();
    let since = a
        .api(
            "GET",
            &format!("/activity?from={}", user_sync_tests::enc(&newest_at)),
            None,
            &[],
        )
        .await;
    assert_eq!(actions(&since.body), ["rule_updated"]);
    let until = a
        .api(
            "GET",
            &format!(
                "/activity?to={}&action=rule_updated",
                user_sync_tests::enc("2020-01-01T00:00:00Z")
            ),
            None,
            &[],
        )
        .await;
    assert!(actions(&until.body).is_empty());

    // bad filters name the parameter
    for (query, param) in [
        ("action=nothing", "action"),
        ("outcome=maybe", "outcome"),
        ("from=yesterday", "from"),
        ("userId=a%23b", "userId"),
    ] {
        let r = a.api("GET", &format!("/activity?{query}"), None, &[]).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().starts_with(param),
            "{}",
            r.body
        );
    }

    // exports
    let csv = a.api("GET", "/activity/export?format=csv", None, &[]).await;
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
        .api(
            "GET",
            "/activity/export?format=jsonl&action=rule_created",
            None,
            &[],
        )
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
    let r = a.api("GET", "/activity/export", None, &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organizations_retention_sets_the_ttl_and_bounds_what_is_shown() {
    use user_sync_aws::dynamo::StateTable;
    use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
    use user_sync_core::ids::OrgId;
    use user_sync_core::ports::SyncState;
    use user_sync_core::state::Outcome;
    use user_sync_tests::{sdk_config, stack};

    let a = Admin::new("retention").await;
    // before anything of this organization was written (and cached)
    for (body, status) in [
        (json!({"retentionDays": 0}), 422),
        (json!({"retentionDays": 30, "days": 1}), 422),
        (json!({"retentionDays": 30}), 200),
    ] {
        let r = a
            .api("PUT", "/activity/settings", Some(body.clone()), &[])
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    let got = a.api("GET", "/activity/settings", None, &[]).await;
    assert_eq!(got.body, json!({"retentionDays": 30}));

    // what is written from now on expires after 30 days
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let items = ddb
        .query()
        .table_name(&stack().state_table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("{}#ACTIVITY", a.org.org_id)),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 1, "the settings change itself");
    let expires: i64 = items[0]["expiresAt"].as_n().unwrap().parse().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let days = (expires - now) as f64 / 86_400.0;
    assert!((29.9..=30.0).contains(&days), "{days} days");

    // an entry older than the retention is not shown, even before it expires
    let state = StateTable::new(ddb, stack().state_table.clone(), 365);
    let old_at =
        user_sync_core::time::format(time::OffsetDateTime::now_utc() - time::Duration::days(40));
    let old = ActivityEntry::new(
        old_at,
        "old",
        "Sync user",
        Action::AccountCreated,
        Subject {
            kind: SubjectKind::User,
            id: "u-old".into(),
        },
        Outcome::Success,
    );
    let org = OrgId::parse(&a.org.org_id).unwrap();
    state.append_activity(&org, &old).await.unwrap();
    let shown = a.api("GET", "/activity", None, &[]).await;
    assert_eq!(actions(&shown.body), ["retention_changed"]);
    let r = a
        .api(
            "PUT",
            "/activity/settings",
            Some(json!({"retentionDays": null})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = a.api("GET", "/activity", None, &[]).await;
    assert_eq!(
        actions(&shown.body),
        ["retention_changed", "retention_changed", "account_created"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_entries_carry_its_user_name() {
    let a = Admin::new("names").await;
    let ann = a.user("ann").await;
    let admins = a.group_with("Admins", &[&ann]).await;
    a.rule(json!({"groupId": admins, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.sync(true, false).await.status, 200);
    a.until(&ann, "ann's account", |x| x["status"] == "active")
        .await;
    let path = format!("/activity?userId={ann}&action=account_created");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let entry = loop {
        let page = a.api("GET", &path, None, &[]).await;
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
    let rules = a
        .api("GET", "/activity?action=rule_created", None, &[])
        .await;
    let rule_entry = &rules.body["items"][0];
    assert_eq!(rule_entry["subject"]["kind"], "rule");
    assert!(rule_entry.get("subjectName").is_none(), "{rule_entry}");
}
