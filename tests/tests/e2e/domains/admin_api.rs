//! Domains through the admin API and their effect on users: a user in an
//! unverified domain waits until it is verified; adding, verifying and removing
//! through the API, each change recorded; a strict, bounded body; another
//! organization cannot touch the domain.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_in_an_unverified_domain_waits_in_its_banner_until_verified_and_retried() {
    let a = admin("dom-sync").await;
    let (ours, later) = (dns().new_domain(), dns().new_domain());
    let ada = format!("ada@{ours}");
    let bea = format!("bea@{later}");
    let ada_id = user(&a, &ada).await;
    let bea_id = user(&a, &bea).await;
    let group = a.scim().group_with("Everyone", &[&ada_id, &bea_id]).await;
    a.admin()
        .rule(json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;

    // no verified domain: sync cannot be turned on
    let refused = a.admin().sync(true, true).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body["type"]
            .as_str()
            .unwrap()
            .ends_with("verified_domain_required"),
        "{}",
        refused.body
    );
    // a pending domain is not enough
    let value = add(&a, &ours).await;
    assert_eq!(a.admin().sync(true, true).await.status, 409);

    dns().publish(&ours, &[&value]).await;
    ops(&["domains", "verify", &a.org_id, &ours]).await.json();
    let on = a.admin().sync(true, true).await;
    assert_eq!(on.status, 200, "{}", on.body);

    // ada is provisioned; bea waits in the banner naming her domain
    a.until(&ada_id, "ada's account", |_| true).await;
    let banner = eventually("an unverified_domain banner", PIPELINE, || async {
        let f = a.admin().get("/sync/failures").await;
        f.body["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["class"] == "unverified_domain")
            .cloned()
    })
    .await;
    assert_eq!(banner["count"], 1, "{banner}");
    assert_eq!(banner["domain"], later.as_str(), "{banner}");
    assert!(
        banner["message"].as_str().unwrap().contains(&later),
        "{banner}"
    );
    assert_eq!(banner["users"][0]["userId"], bea_id.as_str(), "{banner}");
    let details = a
        .admin()
        .get(&format!("/sync/failures/unverified_domain?domain={later}"))
        .await;
    assert_eq!(details.status, 200, "{}", details.body);
    assert_eq!(details.body["count"], 1, "{}", details.body);
    assert!(a.simulator().account(&bea_id).await.is_none());
    let c = Client::new();
    eventually("ada's welcome email", PIPELINE, || async {
        (!emails_to(&c, &ada).await.is_empty()).then_some(())
    })
    .await;
    assert!(emails_to(&c, &bea).await.is_empty());

    // the admin verifies bea's domain, then Retry sync provisions her
    let value = add(&a, &later).await;
    dns().publish(&later, &[&value]).await;
    ops(&["domains", "verify", &a.org_id, &later]).await.json();
    let retried = a
        .admin()
        .post("/sync/retry", json!({"class": "unverified_domain"}))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    a.until(&bea_id, "bea's account", |_| true).await;
    eventually("bea's welcome email", PIPELINE, || async {
        (!emails_to(&c, &bea).await.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_adds_verifies_and_removes_a_domain_and_records_each_change() {
    let a = admin("dom-api").await;
    let domain = dns().new_domain();

    for (body, field) in [
        (json!({"domain": format!("*.{domain}")}), "wildcard"),
        (json!({"domain": "com"}), "two labels"),
        (json!({"domain": "ada@example.com"}), "email"),
    ] {
        let r = a.admin().post("/domains", body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().contains("domain"),
            "{}",
            r.body
        );
        assert!(
            r.body["detail"].as_str().unwrap().contains(field),
            "{}",
            r.body
        );
    }

    let added = a
        .admin()
        .post(
            "/domains",
            json!({"domain": domain.to_uppercase(), "includeSubdomains": true}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["domain"], domain.as_str());
    assert_eq!(added.body["status"], "pending");
    assert_eq!(added.body["includeSubdomains"], true);
    assert_eq!(added.body["record"]["name"], format!("_user-sync.{domain}"));
    let value = added.body["record"]["value"].as_str().unwrap().to_owned();
    let again = a.admin().post("/domains", json!({"domain": domain})).await;
    assert_eq!(again.status, 409, "{}", again.body);

    let verify = format!("/domains/{domain}/verify");
    let early = a.admin().request("POST", &verify, None, &[]).await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert!(
        early.body["type"]
            .as_str()
            .unwrap()
            .ends_with("record_not_found")
    );
    dns().set(&domain, Zone::ServFail).await;
    let failed = a.admin().request("POST", &verify, None, &[]).await;
    assert_eq!(failed.status, 409, "{}", failed.body);
    assert!(
        failed.body["type"]
            .as_str()
            .unwrap()
            .ends_with("dns_lookup_failed"),
        "{}",
        failed.body
    );
    dns().publish(&domain, &[&value]).await;
    let verified = a.admin().request("POST", &verify, None, &[]).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["status"], "verified");
    assert_eq!(verified.body["verifiedBy"], "Admin");

    let list = a.admin().get("/domains").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["domains"][0]["domain"], domain.as_str());
    assert_eq!(list.body["domains"][0]["status"], "verified");

    let removed = a.admin().delete(&format!("/domains/{domain}")).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let gone = a.admin().request("POST", &verify, None, &[]).await;
    assert_eq!(gone.status, 404, "{}", gone.body);

    let activity = a.admin().get("/activity").await;
    let actions: Vec<&str> = activity.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject"]["kind"] == "domain")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["domain_removed", "domain_verified", "domain_added"],
        "{}",
        activity.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_body_is_strict_and_bounded_and_another_organization_cannot_touch_the_domain() {
    let a = admin("dom-edge-a").await;
    let b = admin("dom-edge-b").await;
    let domain = dns().new_domain();

    // a field the API does not know is refused, naming it; nothing is stored
    let unknown = a
        .admin()
        .post("/domains", json!({"domain": domain, "verified": true}))
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(
        unknown.body.to_string().contains("verified"),
        "{}",
        unknown.body
    );
    // a name longer than DNS allows is refused before any work
    let long = a
        .admin()
        .post(
            "/domains",
            json!({"domain": format!("{}.example.com", "a".repeat(300))}),
        )
        .await;
    assert_eq!(long.status, 422, "{}", long.body);
    let listed = a.admin().get("/domains").await;
    assert_eq!(listed.body["domains"], json!([]), "{}", listed.body);

    let added = a.admin().post("/domains", json!({"domain": domain})).await;
    assert_eq!(added.status, 201, "{}", added.body);

    // the other organization neither sees, verifies nor removes it
    let seen = b.admin().get("/domains").await;
    assert_eq!(seen.body["domains"], json!([]), "{}", seen.body);
    let verify = b
        .admin()
        .request("POST", &format!("/domains/{domain}/verify"), None, &[])
        .await;
    assert_eq!(verify.status, 404, "{}", verify.body);
    let remove = b.admin().delete(&format!("/domains/{domain}")).await;
    assert_eq!(remove.status, 404, "{}", remove.body);
    let kept = a.admin().get("/domains").await;
    assert_eq!(
        kept.body["domains"][0]["domain"],
        domain.as_str(),
        "{}",
        kept.body
    );
    assert_eq!(
        kept.body["domains"][0]["status"], "pending",
        "{}",
        kept.body
    );
}
