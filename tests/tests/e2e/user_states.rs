//! Users no rule matches, from the admin's side, on the local stack: one no
//! rule has ever matched is `no_rule` (no account, nothing to apply), one the
//! directory deactivated before any rule gave them an account is `inactive`,
//! one whose account exists is `suspended`; each is counted on its own in
//! `GET /sync`, never in sync. The organization prepared here is also the
//! browser test's (`console.rs`).

use serde_json::{Value, json};
use user_sync_tests::eventually;

use crate::admin::{PIPELINE, TestOrg};
use crate::users::{listed, progress, set};

/// An organization whose users are in every state a user no rule matches
/// can be in, beside entitled ones (for the API test below and the browser
/// test of `console.rs`).
pub(crate) struct EveryState {
    pub org: TestOrg,
    /// Entitled and in sync.
    pub ana: String,
    pub bob: String,
    /// Entitled once; no rule matches cy any more: the account is suspended.
    pub cy: String,
    /// In no group: no rule has ever matched dan, who has no account.
    pub dan: String,
    /// In everyone's group, but deactivated in the directory before sync
    /// was turned on: eve never had an account.
    pub eve: String,
}

/// Sync on for ana and bob (everyone's rule), cy (a temps' rule), dan (in
/// no group) and eve (everyone's group, deactivated first); then cy leaves
/// the temps' group. Returns once the
/// suspension is applied.
pub(crate) async fn every_state(prefix: &str) -> EveryState {
    let a = TestOrg::new(prefix).await;
    let ana = a.scim().user_named("ana", "Ana").await;
    let bob = a.scim().user_named("bob", "Bob").await;
    let cy = a.scim().user_named("cy", "Cy").await;
    let dan = a.scim().user_named("dan", "Dan").await;
    let eve = a.scim().user_named("eve", "Eve").await;
    let (status, body) = a
        .scim()
        .patch(
            &format!("/Users/{eve}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let everyone = a.scim().group_with("Everyone", &[&ana, &bob, &eve]).await;
    let temps = a.scim().group_with("Temps", &[&cy]).await;
    a.admin()
        .rule(
            json!({"groupId": everyone, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    a.admin()
        .rule(json!({"groupId": temps, "products": ["G2M"]}))
        .await;
    // the guardrail counts dan, whom no rule entitles: confirmed
    assert_eq!(a.admin().sync(true, true).await.status, 200);
    a.until(&cy, "cy's account", |x| x["status"] == "active")
        .await;
    a.scim().members(&temps, "remove", &[&cy]).await;
    a.until(&cy, "cy suspended", |x| x["status"] == "suspended")
        .await;
    eventually("every state counted", PIPELINE, || async {
        let p = progress(&a).await;
        (p["inSync"] == 2
            && p["suspended"] == 1
            && p["noRule"] == 1
            && p["inactive"] == 1
            && p["pending"] == 0)
            .then_some(())
    })
    .await;
    EveryState {
        org: a,
        ana,
        bob,
        cy,
        dan,
        eve,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_no_rule_matches_is_never_in_sync_no_rule_without_an_account_suspended_with_one() {
    let EveryState {
        org: a,
        ana,
        bob,
        cy,
        dan,
        eve,
    } = every_state("states").await;
    let p = progress(&a).await;
    assert_eq!(
        (
            &p["total"],
            &p["entitled"],
            &p["inSync"],
            &p["suspended"],
            &p["noRule"],
            &p["inactive"],
            &p["notSynced"],
            &p["failed"]
        ),
        (
            &json!(5),
            &json!(2),
            &json!(2),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(0),
            &json!(0)
        ),
        "{p}"
    );
    assert_eq!(listed(&a, "status=in_sync").await, set(&[&ana, &bob]));
    assert_eq!(listed(&a, "status=suspended").await, set(&[&cy]));
    assert_eq!(listed(&a, "status=no_rule").await, set(&[&dan]));
    assert_eq!(listed(&a, "status=inactive").await, set(&[&eve]));

    // dan: never an account, nothing attempted; explain says no rule matches
    let one = a.admin().get(&format!("/users/{dan}")).await;
    assert_eq!(one.body["syncStatus"], "no_rule", "{}", one.body);
    assert_eq!(one.body["lastOutcome"], Value::Null, "{}", one.body);
    assert_eq!(one.body["desiredGeneration"], 0, "{}", one.body);
    let why = a.admin().get(&format!("/users/{dan}/assignment")).await;
    assert_eq!(why.body["assignment"]["reason"], "no_matching_rule");
    assert_eq!(why.body["desired"]["generation"], 0, "{}", why.body);
    assert!(a.simulator().account(&dan).await.is_none(), "no account");

    // eve: in a ruled group, but inactive before any account: none made
    let one = a.admin().get(&format!("/users/{eve}")).await;
    assert_eq!(one.body["syncStatus"], "inactive", "{}", one.body);
    assert_eq!(one.body["lastOutcome"], Value::Null, "{}", one.body);
    let why = a.admin().get(&format!("/users/{eve}/assignment")).await;
    assert_eq!(why.body["assignment"]["reason"], "inactive", "{}", why.body);
    assert_eq!(why.body["desired"]["generation"], 0, "{}", why.body);
    assert!(a.simulator().account(&eve).await.is_none(), "no account");

    // cy: an account, suspended and kept
    let one = a.admin().get(&format!("/users/{cy}")).await;
    assert_eq!(one.body["syncStatus"], "suspended", "{}", one.body);
    assert_eq!(one.body["lastOutcome"], "success", "{}", one.body);
    let why = a.admin().get(&format!("/users/{cy}/assignment")).await;
    assert_eq!(why.body["assignment"]["status"], "suspended");
    assert_eq!(why.body["assignment"]["reason"], "no_matching_rule");
    assert_eq!(why.body["desired"]["generation"], 2, "{}", why.body);

    // the history: cy's account suspended, nothing ever for dan
    let history = a.admin().get(&format!("/activity?userId={cy}")).await;
    assert!(
        history.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "account_suspended"),
        "{}",
        history.body
    );
    let history = a.admin().get(&format!("/activity?userId={dan}")).await;
    assert_eq!(history.body["items"], json!([]), "{}", history.body);
}
