//! The product API failing, timing out and rate limiting for a while, until
//! everyone converges.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_then_timing_out_product_api_is_retried_until_everyone_converges() {
    let a = TestOrg::new("outage").await;
    // the rule is written while the product API still answers: a rule
    // naming products is checked against the product API's list
    let (users, _) = users_with_rule(&a, 3, &["G2M"]).await;
    let faults = format!("/orgs/{}/faults", a.org_id);
    a.simulator()
        .control("PUT", &faults, Some(json!({"errorRate": 1})))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    let banner = banner(&a, "product_api_unavailable", Some(3)).await;
    assert_eq!(banner["retriedAutomatically"], true);

    // then it hangs: the worker's call times out (10 s) before the answer
    a.simulator()
        .control(
            "PUT",
            &faults,
            Some(json!({"timeoutRate": 1, "timeoutMs": 12_000})),
        )
        .await;
    eventually("calls time out", CONVERGE, || async {
        let calls = a.simulator().calls(Some(&users[0])).await;
        calls.iter().any(|c| c["status"] == 504).then_some(())
    })
    .await;

    // it recovers: everyone converges with no admin action
    a.simulator().control("DELETE", &faults, None).await;
    for u in &users {
        eventually("provisioned after the outage", CONVERGE, || async {
            a.simulator()
                .account(u)
                .await
                .filter(|x| products(x) == ["G2M"])
        })
        .await;
    }
    no_banners(&a).await;
    for u in &users {
        let calls = a.simulator().calls(Some(u)).await;
        assert!(
            calls.iter().any(|c| c["status"] == 500),
            "{u} met the errors: {calls:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_job_comes_back_after_retry_after_not_the_backoff() {
    let a = TestOrg::new("ratelimit").await;
    let (users, _) = users_with_rule(&a, 2, &["G2M"]).await;
    a.simulator()
        .control(
            "PUT",
            &format!("/orgs/{}/faults", a.org_id),
            Some(json!({"rateLimit": {"remaining": 2, "retryAfterSeconds": 1}})),
        )
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    for u in &users {
        a.until(u, "provisioned", |x| x["status"] == "active").await;
        let calls = a.simulator().calls(Some(u)).await;
        let limited = calls
            .iter()
            .filter(|c| c["status"] == 429)
            .collect::<Vec<_>>();
        let created = calls.iter().find(|c| c["status"] == 201).unwrap();
        if let Some(limited) = limited.last() {
            let gap = seconds_between(&limited["at"], &created["at"]);
            // the backoff would wait at least 7.5 s
            assert!(
                (0.9..7.0).contains(&gap),
                "{u}: retried {gap} s after the 429: {calls:?}"
            );
        }
    }
    let all: usize = {
        let mut n = 0;
        for u in &users {
            n += a
                .simulator()
                .calls(Some(u))
                .await
                .iter()
                .filter(|c| c["status"] == 429)
                .count();
        }
        n
    };
    assert_eq!(all, 2, "both rate-limited answers were met");
}

fn seconds_between(from: &Value, to: &Value) -> f64 {
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    (parse(to) - parse(from)).as_seconds_f64()
}
