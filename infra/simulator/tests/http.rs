//! HTTP tests: serve the simulator on a free port and call it.

use std::time::{Duration, Instant};

use product_api_sim::{SimConfig, Simulator};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEY: &str = "test-key";

struct Sim {
    base: String,
    client: Client,
    handle: Simulator,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sim {
    async fn start() -> Result<Self, Box<dyn std::error::Error>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let handle = Simulator::new(SimConfig {
            api_key: KEY.into(),
        });
        let server = tokio::spawn(handle.clone().serve(listener));
        Ok(Self {
            base,
            client: Client::new(),
            handle,
            server,
        })
    }

    fn user_url(&self, org: &str, user: &str) -> String {
        format!("{}/v1/accounts/{org}/users/{user}", self.base)
    }

    async fn put_user(
        &self,
        org: &str,
        user: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let r = self
            .client
            .put(self.user_url(org, user))
            .bearer_auth(KEY)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        Ok((status, r.json().await?))
    }

    async fn control_put(&self, path: &str, body: &Value) -> Result<Value, reqwest::Error> {
        self.client
            .put(format!("{}/control{path}", self.base))
            .json(body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    async fn control_get(&self, path: &str) -> Result<Value, reqwest::Error> {
        self.client
            .get(format!("{}/control{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}

fn ada(status: &str, products: &[&str]) -> Value {
    json!({
        "email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace",
        "locale": "en-US", "status": status, "products": products, "role": "full_admin",
        "privileges": [], "managedGroups": [], "userGroup": null, "deviceGroups": [],
        "settingsTemplate": null
    })
}

fn user(email: &str, status: &str, products: &[&str]) -> Value {
    json!({ "email": email, "status": status, "products": products, "role": "none" })
}

#[tokio::test]
async fn create_then_idempotent_update() -> TestResult {
    let sim = Sim::start().await?;
    let body = ada("active", &["G2M", "G2W"]);

    let (status, created) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["orgId"], "o1");
    assert_eq!(created["userKey"], "u1");
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["products"], json!(["G2M", "G2W"]));

    let (status, again) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, created);

    let r = sim
        .client
        .get(sim.user_url("o1", "u1"))
        .bearer_auth(KEY)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await?, created);

    let r = sim
        .client
        .get(sim.user_url("o1", "nobody"))
        .bearer_auth(KEY)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await?["code"], "not_found");

    let listed = sim.control_get("/accounts?org=o1").await?;
    assert_eq!(listed["accounts"], json!([created]));
    let one = sim.control_get("/accounts/o1/u1").await?;
    assert_eq!(one, created);
    Ok(())
}

#[tokio::test]
async fn existing_account_elsewhere_is_refused() -> TestResult {
    let sim = Sim::start().await?;
    let set = sim
        .control_put(
            "/existing-accounts",
            &json!({ "emails": ["ADA@example.com"] }),
        )
        .await?;
    assert_eq!(set, json!({ "emails": ["ADA@example.com"] }));

    let (status, body) = sim.put_user("o1", "u1", &ada("active", &["G2M"])).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "existing_account");
    assert!(sim.handle.account("o1", "u1").is_none());
    Ok(())
}

#[tokio::test]
async fn seats_are_enforced_and_suspension_frees_one() -> TestResult {
    let sim = Sim::start().await?;
    let seats = sim
        .control_put("/orgs/o1/seats", &json!({ "G2M": 10, "G2W": 1 }))
        .await?;
    assert_eq!(seats, json!({ "G2M": 10, "G2W": 1 }));
    assert_eq!(sim.control_get("/orgs/o1/seats").await?, seats);

    let (status, _) = sim
        .put_user("o1", "u1", &user("a@x.com", "active", &["G2M", "G2W"]))
        .await?;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = sim
        .put_user("o1", "u2", &user("b@x.com", "active", &["G2M", "G2W"]))
        .await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "out_of_licenses");
    assert_eq!(body["product"], "G2W");
    assert!(sim.handle.account("o1", "u2").is_none());

    // Another org is not affected.
    let (status, _) = sim
        .put_user("o2", "u2", &user("b@x.com", "active", &["G2W"]))
        .await?;
    assert_eq!(status, StatusCode::CREATED);

    // Updating the holder never fails; suspending it frees the seat.
    let (status, _) = sim
        .put_user("o1", "u1", &user("a@x.com", "active", &["G2W"]))
        .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = sim
        .put_user("o1", "u1", &user("a@x.com", "suspended", &["G2W"]))
        .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = sim
        .put_user("o1", "u2", &user("b@x.com", "active", &["G2M", "G2W"]))
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Ok(())
}

#[tokio::test]
async fn seats_report_limits_and_use() -> TestResult {
    let sim = Sim::start().await?;
    sim.control_put("/orgs/o1/seats", &json!({ "G2M": 10 }))
        .await?;
    sim.put_user("o1", "u1", &user("a@x.com", "active", &["G2M", "G2W"]))
        .await?;
    sim.put_user("o1", "u2", &user("b@x.com", "suspended", &["G2M"]))
        .await?;
    let url = format!("{}/v1/accounts/o1/seats", sim.base);
    let r = sim.client.get(&url).bearer_auth(KEY).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await?;
    assert_eq!(
        body,
        json!({"G2M": {"limit": 10, "used": 1}, "G2W": {"limit": null, "used": 1}})
    );
    let r = sim.client.get(&url).send().await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn products_are_the_default_list_until_set_with_their_seats_and_reset_clears_them()
-> TestResult {
    let sim = Sim::start().await?;
    let url = format!("{}/v1/accounts/o1/products", sim.base);
    let read = || async {
        let r = sim.client.get(&url).bearer_auth(KEY).send().await?;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await
    };
    let ids = |v: &Value| -> Vec<String> {
        v["products"].as_array().map_or_else(Vec::new, |a| {
            a.iter()
                .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
    };
    let default = read().await?;
    assert_eq!(ids(&default), ["G2M", "G2W", "G2T", "G2C", "G2R", "RESCUE"]);
    assert_eq!(
        default["products"][0],
        json!({"id": "G2M", "name": "GoTo Meeting", "deviceGroups": false,
               "seats": {"limit": null, "used": 0}})
    );
    assert_eq!(default["products"][3]["deviceGroups"], true);

    let list = json!([{"id": "G2W", "name": "GoTo Webinar"}, {"id": "G2C", "name": "GoTo Connect", "deviceGroups": true}]);
    let set = sim.control_put("/orgs/o1/products", &list).await?;
    assert_eq!(set[0]["deviceGroups"], false);
    assert_eq!(sim.control_get("/orgs/o1/products").await?, set);
    sim.control_put("/orgs/o1/seats", &json!({ "G2W": 8 }))
        .await?;
    sim.put_user("o1", "u1", &user("a@x.com", "active", &["G2W"]))
        .await?;
    let now = read().await?;
    assert_eq!(
        now,
        json!({"products": [
            {"id": "G2W", "name": "GoTo Webinar", "deviceGroups": false, "seats": {"limit": 8, "used": 1}},
            {"id": "G2C", "name": "GoTo Connect", "deviceGroups": true, "seats": {"limit": null, "used": 0}},
        ]})
    );
    // another organization still offers the default list
    let other = sim
        .client
        .get(format!("{}/v1/accounts/o2/products", sim.base))
        .bearer_auth(KEY)
        .send()
        .await?
        .json::<Value>()
        .await?;
    assert_eq!(ids(&other).len(), 6);
    let r = sim
        .client
        .put(format!("{}/control/orgs/o1/products", sim.base))
        .json(&json!([{"id": "A", "name": "a"}, {"id": "A", "name": "b"}]))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = sim.client.get(&url).send().await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    sim.handle.reset();
    assert_eq!(ids(&read().await?).len(), 6);
    Ok(())
}

#[tokio::test]
async fn invalid_bodies_get_422() -> TestResult {
    let sim = Sim::start().await?;
    for body in [
        json!({ "status": "active", "role": "none" }),
        json!({ "email": "nobody", "status": "active", "role": "none" }),
        json!({ "email": "a@x.com", "status": "gone", "role": "none" }),
        json!({ "email": "a@x.com", "status": "active", "role": "owner" }),
        json!([1, 2]),
    ] {
        let (status, answer) = sim.put_user("o1", "u1", &body).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer["code"], "invalid_user_data");
    }
    let r = sim
        .client
        .put(sim.user_url("o1", "u1"))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(sim.handle.accounts(None).is_empty());
    Ok(())
}

#[tokio::test]
async fn oversized_body_gets_413() -> TestResult {
    let sim = Sim::start().await?;
    let big = json!({ "email": "a@x.com", "status": "active", "role": "none",
                      "givenName": "x".repeat(70 * 1024) });
    let (status, body) = sim.put_user("o1", "u1", &big).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
    Ok(())
}

#[tokio::test]
async fn wrong_or_missing_key_gets_401() -> TestResult {
    let sim = Sim::start().await?;
    let body = ada("active", &[]);
    let r = sim
        .client
        .put(sim.user_url("o1", "u1"))
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await?["code"], "unauthorized");
    let r = sim.client.get(sim.user_url("o1", "u1")).send().await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(sim.handle.accounts(None).is_empty());
    Ok(())
}

#[tokio::test]
async fn rate_limit_then_success() -> TestResult {
    let sim = Sim::start().await?;
    let faults = sim
        .control_put(
            "/faults",
            &json!({ "rateLimit": { "remaining": 2, "retryAfterSeconds": 2 } }),
        )
        .await?;
    assert_eq!(faults["rateLimit"]["remaining"], 2);
    assert_eq!(faults["errorRate"], 0.0);
    assert_eq!(faults["timeoutMs"], 30_000);

    let body = ada("active", &["G2M"]);
    for _ in 0..2 {
        let r = sim
            .client
            .put(sim.user_url("o1", "u1"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().map(str::to_owned));
        assert_eq!(retry_after.transpose()?.as_deref(), Some("2"));
        assert_eq!(r.json::<Value>().await?["code"], "rate_limited");
        assert!(sim.handle.accounts(None).is_empty());
    }
    let (status, _) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        sim.control_get("/faults").await?["rateLimit"]["remaining"],
        0
    );
    Ok(())
}

#[tokio::test]
async fn down_gets_503_and_errors_get_500() -> TestResult {
    let sim = Sim::start().await?;
    let body = ada("active", &["G2M"]);

    sim.control_put("/faults", &json!({ "down": true })).await?;
    let (status, answer) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer["code"], "unavailable");

    sim.control_put("/faults", &json!({ "errorRate": 1 }))
        .await?;
    let (status, answer) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer["code"], "unavailable");
    assert!(sim.handle.accounts(None).is_empty());

    sim.control_put("/faults", &json!({})).await?;
    let (status, _) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::CREATED);

    // Bad switches are refused.
    let r = sim
        .client
        .put(format!("{}/control/faults", sim.base))
        .json(&json!({ "errorRate": 2 }))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}

#[tokio::test]
async fn an_organizations_faults_replace_the_global_ones_for_its_calls_only() -> TestResult {
    let sim = Sim::start().await?;
    let body = ada("active", &["G2M"]);
    let set = sim
        .control_put("/orgs/o1/faults", &json!({ "down": true }))
        .await?;
    assert_eq!(set["down"], true);

    let (status, _) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = sim.put_user("o2", "u1", &body).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(sim.control_get("/faults").await?["down"], false);
    assert_eq!(sim.control_get("/orgs/o1/faults").await?["down"], true);
    assert_eq!(sim.control_get("/orgs/o2/faults").await?["down"], false);

    // global faults do not reach an organization with its own switches
    sim.control_put("/faults", &json!({ "errorRate": 1 }))
        .await?;
    sim.control_put("/orgs/o1/faults", &json!({})).await?;
    let (status, _) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::CREATED);

    // removing them makes it follow the global switches again
    let r = sim
        .client
        .delete(format!("{}/control/orgs/o1/faults", sim.base))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = sim.put_user("o1", "u1", &body).await?;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let r = sim
        .client
        .put(format!("{}/control/orgs/o1/faults", sim.base))
        .json(&json!({ "timeoutRate": 3 }))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}

#[tokio::test]
async fn timeout_holds_then_answers_504() -> TestResult {
    let sim = Sim::start().await?;
    sim.control_put("/faults", &json!({ "timeoutRate": 1, "timeoutMs": 200 }))
        .await?;
    let started = Instant::now();
    let (status, answer) = sim.put_user("o1", "u1", &ada("active", &[])).await?;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(answer["code"], "timeout");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(sim.handle.accounts(None).is_empty());
    Ok(())
}

#[tokio::test]
async fn calls_log_has_ids_and_statuses_only() -> TestResult {
    let sim = Sim::start().await?;
    sim.control_put("/orgs/o2/seats", &json!({ "G2M": 0 }))
        .await?;
    sim.put_user("o1", "u1", &ada("active", &["G2M"])).await?;
    sim.put_user("o1", "u1", &ada("active", &["G2M"])).await?;
    sim.put_user("o2", "u9", &ada("active", &["G2M"])).await?;
    // Control calls are not logged.
    sim.control_get("/accounts").await?;

    let all = sim.control_get("/calls").await?;
    let calls = all["calls"].as_array().ok_or("calls is not an array")?;
    let summary: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c["seq"].clone(),
                c["method"].clone(),
                c["orgId"].clone(),
                c["userKey"].clone(),
                c["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!(1), json!("PUT"), json!("o1"), json!("u1"), json!(201)),
            (json!(2), json!("PUT"), json!("o1"), json!("u1"), json!(200)),
            (json!(3), json!("PUT"), json!("o2"), json!("u9"), json!(409)),
        ]
    );
    assert_eq!(calls[2]["code"], "out_of_licenses");
    assert!(calls[0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let text = all.to_string();
    assert!(!text.contains("ada@example.com"));
    assert!(!text.contains("Ada"));
    assert!(!text.contains("Lovelace"));

    let o2 = sim.control_get("/calls?org=o2").await?;
    assert_eq!(o2["calls"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn reset_clears_everything() -> TestResult {
    let sim = Sim::start().await?;
    sim.control_put("/orgs/o1/seats", &json!({ "G2M": 1 }))
        .await?;
    sim.control_put("/existing-accounts", &json!({ "emails": ["x@y.z"] }))
        .await?;
    sim.control_put("/faults", &json!({ "latencyMs": 1 }))
        .await?;
    sim.put_user("o1", "u1", &ada("active", &["G2M"])).await?;

    let r = sim
        .client
        .post(format!("{}/control/reset", sim.base))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);

    assert_eq!(
        sim.control_get("/accounts").await?,
        json!({ "accounts": [] })
    );
    assert_eq!(sim.control_get("/calls").await?, json!({ "calls": [] }));
    assert_eq!(sim.control_get("/orgs/o1/seats").await?, json!({}));
    assert_eq!(
        sim.control_get("/existing-accounts").await?,
        json!({ "emails": [] })
    );
    assert_eq!(sim.control_get("/faults").await?["latencyMs"], 0);

    let r = sim
        .client
        .get(format!("{}/health", sim.base))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await?, json!({ "ok": true }));

    let r = sim.client.get(format!("{}/nope", sim.base)).send().await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn serve_runs_until_dropped() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(product_api_sim::serve(
        listener,
        SimConfig {
            api_key: KEY.into(),
        },
    ));
    let r = Client::new().get(format!("{base}/health")).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    server.abort();
    Ok(())
}
