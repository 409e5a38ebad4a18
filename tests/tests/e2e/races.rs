//! Races on the local stack: requests fired at the same instant, each on a
//! connection of its own, released together by a barrier. Two SCIM PATCHes
//! with the same `If-Match`, two admins reordering rules from the same list,
//! two admins replacing one setting (catalogue, custom attributes, activity
//! retention) or two different ones, and parallel SCIM creates of one
//! userName in different cases. Each race runs several times.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use user_sync_tests::{Answer, Client, UserBuilder, api_url, enc, scim_url, stack};

use crate::admin::{PATCH_OP, TestOrg, id};

const ROUNDS: usize = 3;

/// One request of a race: method, URL, token, body, headers.
#[derive(Clone)]
struct Shot {
    method: &'static str,
    url: String,
    token: String,
    body: Value,
    headers: Vec<(String, String)>,
}

/// Fires every shot at once, each from its own client (its own
/// connection); the answers in the shots' order.
async fn at_once(shots: Vec<Shot>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(shots.len()));
    let mut set = JoinSet::new();
    for (i, shot) in shots.into_iter().enumerate() {
        let barrier = barrier.clone();
        set.spawn(async move {
            let client = Client::new();
            // open the connection before the start
            let _warm = client
                .send("GET", &scim_url("/ServiceProviderConfig"), None, None)
                .await;
            let headers: Vec<(&str, &str)> = shot
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            barrier.wait().await;
            let answer = client
                .request(
                    shot.method,
                    &shot.url,
                    Some(&shot.token),
                    Some(&shot.body),
                    &headers,
                )
                .await;
            (i, answer)
        });
    }
    let mut answers: Vec<(usize, Answer)> = set.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, a)| a).collect()
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    let mut s: Vec<u16> = answers.iter().map(|a| a.status).collect();
    s.sort_unstable();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_scim_patches_with_the_same_etag_one_wins_one_gets_412() {
    let a = TestOrg::new("race-patch").await;
    let user = a.scim().user("ada").await;
    let url = scim_url(&format!("/Users/{user}"));
    for round in 0..ROUNDS {
        let (status, before) = a.scim().send("GET", &format!("/Users/{user}"), None).await;
        assert_eq!(status, 200, "{before}");
        let version = before["meta"]["version"].as_str().unwrap().to_owned();
        let shot = |title: &str| Shot {
            method: "PATCH",
            url: url.clone(),
            token: a.scim_token.clone(),
            body: json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": title}]}),
            headers: vec![("if-match".into(), version.clone())],
        };
        let titles = [format!("first-{round}"), format!("second-{round}")];
        let answers = at_once(vec![shot(&titles[0]), shot(&titles[1])]).await;
        assert_eq!(
            statuses(&answers),
            [200, 412],
            "round {round}: {:?}",
            answers.iter().map(|x| &x.body).collect::<Vec<_>>()
        );
        let winner = answers.iter().position(|x| x.status == 200).unwrap();
        let (_, after) = a.scim().send("GET", &format!("/Users/{user}"), None).await;
        // the winner's change is stored, and only one version was added
        assert_eq!(after["title"], titles[winner].as_str(), "round {round}");
        assert_eq!(
            after["meta"]["version"],
            format!("W/\"{}\"", round + 2),
            "round {round}"
        );
        assert_eq!(
            answers[winner].etag.as_deref(),
            after["meta"]["version"].as_str()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_reordering_rules_at_once_one_wins_one_gets_412() {
    let a = TestOrg::new("race-order").await;
    let g = a.scim().group("Everyone").await;
    let mut rules = Vec::new();
    for p in ["G2M", "G2W", "G2T"] {
        let r = a
            .admin()
            .rule(json!({"groupId": g, "products": [p], "adminRole": {"type": "full_admin"}}))
            .await;
        rules.push(id(&r));
    }
    let url = api_url("/rules/order");
    for round in 0..ROUNDS {
        let list = a.admin().get("/rules").await;
        let etag = list.etag.clone().unwrap();
        let current: Vec<String> = list.body["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect();
        // one admin rotates the list, the other reverses it
        let mut rotated = current.clone();
        rotated.rotate_left(1);
        let mut reversed = current.clone();
        reversed.reverse();
        let shot = |order: &[String]| Shot {
            method: "PUT",
            url: url.clone(),
            token: a.admin_token.clone(),
            body: json!({"order": order}),
            headers: vec![("if-match".into(), etag.clone())],
        };
        let answers = at_once(vec![shot(&rotated), shot(&reversed)]).await;
        assert_eq!(
            statuses(&answers),
            [200, 412],
            "round {round}: {:?}",
            answers.iter().map(|x| &x.body).collect::<Vec<_>>()
        );
        let loser = answers.iter().find(|x| x.status == 412).unwrap();
        assert_eq!(loser.body["code"], "precondition_failed");
        let winner = answers.iter().position(|x| x.status == 200).unwrap();
        let expected = if winner == 0 { &rotated } else { &reversed };
        let after = a.admin().get("/rules").await;
        let order: Vec<String> = after.body["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect();
        assert_eq!(
            &order, expected,
            "round {round}: the winner's order is stored"
        );
        let priorities: Vec<u64> = after.body["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["priority"].as_u64().unwrap())
            .collect();
        assert_eq!(priorities, [1, 2, 3], "round {round}");
        assert_ne!(after.etag.as_deref(), Some(etag.as_str()));
    }
    assert_eq!(rules.len(), 3);
}

/// A settings write of the race: `PUT path` with `body` and `If-Match`.
fn setting_shot(a: &TestOrg, path: &str, body: Value, etag: &str) -> Shot {
    Shot {
        method: "PUT",
        url: format!("{}{path}", stack().api_url),
        token: a.admin_token.clone(),
        body,
        headers: vec![("if-match".into(), etag.to_owned())],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_replacing_a_setting_at_once_one_wins_one_gets_412() {
    let a = TestOrg::new("race-settings").await;
    // two different values per round (a write of the value already stored
    // changes nothing, and is no conflict)
    type Body = fn(&str) -> Value;
    let cases: [(&str, Body); 3] = [
        (
            "/catalog",
            |v| json!({"userGroups": [{"id": v, "name": "Group"}]}),
        ),
        ("/custom-attributes", |v| json!({"attributes": [v]})),
        (
            "/activity/settings",
            |v| json!({"retentionDays": 100 + v.len() * 10 + usize::from(v.starts_with('b'))}),
        ),
    ];
    for (path, body) in cases {
        for round in 0..ROUNDS {
            let read = a.admin().get(path).await;
            let etag = read.etag.clone().unwrap();
            let one = body(&format!("a{}", "x".repeat(round)));
            let other = body(&format!("b{}", "x".repeat(round)));
            let answers = at_once(vec![
                setting_shot(&a, path, one, &etag),
                setting_shot(&a, path, other, &etag),
            ])
            .await;
            assert_eq!(
                statuses(&answers),
                [200, 412],
                "{path} round {round}: {:?}",
                answers.iter().map(|x| &x.body).collect::<Vec<_>>()
            );
            let winner = answers.iter().find(|x| x.status == 200).unwrap();
            let after = a.admin().get(path).await;
            assert_eq!(
                after.body, winner.body,
                "{path} round {round}: the winner's value is stored"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_changing_different_settings_at_once_keep_both_changes() {
    let a = TestOrg::new("race-two-settings").await;
    for round in 0..ROUNDS {
        let catalog = a.admin().get("/catalog").await;
        let attributes = a.admin().get("/custom-attributes").await;
        let retention = a.admin().get("/activity/settings").await;
        let user_group = format!("G{round}");
        let attribute = format!("attribute{round}");
        let days = 100 + u64::try_from(round).unwrap();
        let answers = at_once(vec![
            setting_shot(
                &a,
                "/catalog",
                json!({"userGroups": [{"id": user_group, "name": "Group"}]}),
                catalog.etag.as_deref().unwrap(),
            ),
            setting_shot(
                &a,
                "/custom-attributes",
                json!({"attributes": [attribute]}),
                attributes.etag.as_deref().unwrap(),
            ),
            setting_shot(
                &a,
                "/activity/settings",
                json!({"retentionDays": days}),
                retention.etag.as_deref().unwrap(),
            ),
        ])
        .await;
        assert_eq!(
            statuses(&answers),
            [200, 200, 200],
            "round {round}: {:?}",
            answers.iter().map(|x| &x.body).collect::<Vec<_>>()
        );
        // each write kept the others' changes: none read-modify-wrote over
        // another
        let catalog = a.admin().get("/catalog").await;
        assert_eq!(
            catalog.body["userGroups"][0]["id"], user_group,
            "round {round}"
        );
        let attributes = a.admin().get("/custom-attributes").await;
        assert_eq!(
            attributes.body["attributes"],
            json!([attribute]),
            "round {round}"
        );
        let retention = a.admin().get("/activity/settings").await;
        assert_eq!(retention.body["retentionDays"], days, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_of_one_user_name_in_different_cases_store_one_user() {
    let a = TestOrg::new("race-create").await;
    let url = scim_url("/Users");
    for round in 0..ROUNDS {
        let base = format!("ada{round}.{}@example.com", a.org_id);
        // 8 spellings of the same userName, differing only in case
        let names: Vec<String> = (0..8u32)
            .map(|variant| {
                base.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i < 3 && variant & (1 << i) != 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect()
            })
            .collect();
        let shots = names
            .iter()
            .map(|n| Shot {
                method: "POST",
                url: url.clone(),
                token: a.scim_token.clone(),
                body: UserBuilder::new(n).email(n).build(),
                headers: Vec::new(),
            })
            .collect();
        let answers = at_once(shots).await;
        let mut expected = vec![409; 7];
        expected.insert(0, 201);
        let mut got = statuses(&answers);
        got.sort_by_key(|s| *s != 201);
        assert_eq!(
            got,
            expected,
            "round {round}: {:?}",
            answers.iter().map(|x| &x.body).collect::<Vec<_>>()
        );
        for refused in answers.iter().filter(|x| x.status == 409) {
            assert_eq!(refused.body["scimType"], "uniqueness", "{}", refused.body);
        }
        let filter = enc(&format!("userName eq \"{}\"", base.to_uppercase()));
        let (status, found) = a
            .scim()
            .send("GET", &format!("/Users?filter={filter}"), None)
            .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["totalResults"], 1, "round {round}: {found}");
    }
    let (_, all) = a.scim().send("GET", "/Users?count=100", None).await;
    assert_eq!(all["totalResults"], ROUNDS, "{all}");
}
