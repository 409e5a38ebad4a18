//! A product admin's edit (`PATCH /control/accounts/{orgId}/{userKey}`):
//! the account changes, `GET` names who changed it, and the integration's
//! next write clears that.

use product_api_sim::{DEFAULT_EDITOR, SimConfig, Simulator};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEY: &str = "test-key";

fn account() -> Value {
    json!({
        "email": "ada@example.com", "givenName": "Ada", "familyName": null,
        "locale": "en", "status": "active", "products": ["G2M"], "role": "none",
        "privileges": [], "managedGroups": [], "userGroup": null,
        "deviceGroups": [], "settingsTemplate": null
    })
}

#[tokio::test]
async fn an_admin_edit_is_answered_with_its_author_until_the_integration_writes_again() -> TestResult
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let sim = Simulator::new(SimConfig {
        api_key: KEY.into(),
    });
    let server = tokio::spawn(sim.clone().serve(listener));
    let client = Client::new();
    let user = format!("{base}/v1/accounts/acme/users/ada");
    let control = format!("{base}/control/accounts/acme/ada");

    let missing = client
        .patch(&control)
        .json(&json!({"role": "full_admin"}))
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let put = client
        .put(&user)
        .bearer_auth(KEY)
        .json(&account())
        .send()
        .await?;
    assert_eq!(put.status(), StatusCode::CREATED);
    let got: Value = client
        .get(&user)
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    assert!(got.get("updatedBy").is_none(), "{got}");

    let edited = client
        .patch(&control)
        .json(&json!({"role": "full_admin", "products": ["G2M", "G2W"], "updatedBy": "Jane Admin"}))
        .send()
        .await?;
    assert_eq!(edited.status(), StatusCode::OK);
    let got: Value = client
        .get(&user)
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(got["role"], "full_admin");
    assert_eq!(got["products"], json!(["G2M", "G2W"]));
    assert_eq!(got["updatedBy"], "Jane Admin");

    let unnamed = client
        .patch(&control)
        .json(&json!({"locale": "fr"}))
        .send()
        .await?;
    let unnamed: Value = unnamed.json().await?;
    assert_eq!(unnamed["updatedBy"], DEFAULT_EDITOR);
    let invalid = client
        .patch(&control)
        .json(&json!({"status": "gone"}))
        .send()
        .await?;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // the integration writes it back: the product no longer names an editor
    let put = client
        .put(&user)
        .bearer_auth(KEY)
        .json(&account())
        .send()
        .await?;
    assert_eq!(put.status(), StatusCode::OK);
    let got: Value = client
        .get(&user)
        .bearer_auth(KEY)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(got["role"], "none");
    assert!(got.get("updatedBy").is_none(), "{got}");
    // the edits are not product-API calls
    let calls: Value = client
        .get(format!("{base}/control/calls"))
        .send()
        .await?
        .json()
        .await?;
    let methods: Vec<&str> = calls["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["method"].as_str())
        .collect();
    assert_eq!(methods, ["PUT", "GET", "GET", "PUT", "GET"]);
    server.abort();
    Ok(())
}
