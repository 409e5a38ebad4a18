//! The functions' AWS calls against what their roles grant: every call any
//! function made on the local stack so far (the emulator records each one,
//! with the calling function) must be granted by the permissions table,
//! which `template.yaml`'s roles match exactly (`local_stack::permissions`).
//! A call outside the table is a call that AWS would refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use local_stack::permissions::{PERMISSIONS, needed, table_pairs};
use serde_json::{Value, json};
use user_sync_tests::{call_resources, emails_to, eventually, logical_ids, stack};

use crate::admin::{PIPELINE, TestOrg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aws_call_of_every_function_is_granted_by_its_role() {
    // a walk through every function: SCIM writes, rules and sync, the
    // evaluator, a provisioned account, its welcome email, a retry, a lost
    // stream batch repaired
    let a = TestOrg::new("perm").await;
    let ada = a.scim().user("ada").await;
    let sales = a.scim().group_with("Sales", &[&ada]).await;
    a.admin()
        .rule(json!({"groupId": sales, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, true).await.status, 200);
    a.until(&ada, "Ada's account", |_| true).await;
    let to = a.email("ada");
    eventually("Ada's welcome email", PIPELINE, || async {
        (!emails_to(&a.client, &to).await.is_empty()).then_some(())
    })
    .await;
    for path in [
        "/sync",
        "/sync/failures",
        "/users",
        "/activity",
        "/templates",
    ] {
        let r = a.admin().get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let r = a.admin().post("/sync/retry", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = a.admin().get(&format!("/users/{ada}/assignment")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["id"], json!(ada));
    // a lost stream batch, repaired: the repair function reads the stream
    crate::self_healing::lose_the_batch_of(&format!("{}#USER#{ada}", a.org_id), "USER").await;
    eventually("the lost batch's reconcile", PIPELINE, || async {
        (!crate::self_healing::reconciles_started(&a).await.is_empty()).then_some(())
    })
    .await;
    // the recorder appends as calls arrive; give the last ones a moment
    tokio::time::sleep(Duration::from_millis(500)).await;

    let s = stack();
    let logical = logical_ids(
        &s.directory_table,
        &s.state_table,
        &s.product_api_key_secret,
        &s.queues,
    );
    let by_binary: BTreeMap<&str, &str> = PERMISSIONS.iter().map(|f| (f.binary, f.role)).collect();

    let text = std::fs::read_to_string(&s.aws_calls)
        .unwrap_or_else(|e| panic!("{}: {e}", s.aws_calls.display()));
    let mut callers = BTreeSet::new();
    let mut problems = BTreeSet::new();
    let mut calls = 0;
    for line in text.lines() {
        let call: Value = serde_json::from_str(line).unwrap();
        let key = call["key"].as_str().unwrap_or_default();
        // the harness and the local runner itself (creating tables, driving
        // event sources) call with the key "local"
        if key == "local" {
            continue;
        }
        let Some(role) = by_binary.get(key) else {
            problems.insert(format!("a call with the unknown key {key:?}: {line}"));
            continue;
        };
        calls += 1;
        callers.insert(key.to_owned());
        let resources = call_resources(&call);
        let service = call["service"].as_str().unwrap_or_default();
        let action = call["action"].as_str().unwrap_or_default();
        match needed(service, action, &resources, &logical) {
            Ok(pairs) => {
                let granted = table_pairs(role);
                for (permission, resource) in pairs.difference(&granted) {
                    problems.insert(format!(
                        "{key} called {service}:{action}, which needs {permission} on {resource}: {role} does not grant it"
                    ));
                }
            }
            Err(e) => {
                problems.insert(format!("{key}: {e}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
    let all: BTreeSet<String> = PERMISSIONS.iter().map(|f| f.binary.to_owned()).collect();
    assert_eq!(callers, all, "every function made calls ({calls} in all)");
}
