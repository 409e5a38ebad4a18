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
        .api(
            "PATCH",
            &format!("/rules/{}", id(first)),
            Some(json!({"products": ["G2M", "G2C"]})),
            &[("if-match", &format!("\"{}\"", first["version"]))],
        )
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
