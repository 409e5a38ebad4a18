//! The product API adapter against the simulator: what it retries at once
//! and what it leaves to the job's next delivery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use product_api_sim::{Faults, RateLimit, SimConfig, Simulator};
use user_sync_aws::product_api::HttpProductApi;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{AccountWrite, ProductApi, ProductApiError};
use user_sync_core::state::{AccountStatus, ProductAccount};

const KEY: &str = "test-key";

async fn start() -> (
    Simulator,
    HttpProductApi,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sim = Simulator::new(SimConfig {
        api_key: KEY.into(),
    });
    let server = tokio::spawn(sim.clone().serve(listener));
    let api = HttpProductApi::new(&base, KEY, Duration::from_millis(500)).unwrap();
    (sim, api, server)
}

fn account() -> ProductAccount {
    ProductAccount {
        email: "ada@example.com".into(),
        given_name: Some("Ada".into()),
        family_name: Some("Lovelace".into()),
        locale: None,
        status: AccountStatus::Active,
        products: BTreeSet::from(["G2M".to_owned()]),
        role: "none".into(),
        privileges: BTreeSet::new(),
        managed_groups: BTreeSet::new(),
        user_group: None,
        device_groups: BTreeSet::new(),
        settings_template: None,
    }
}

fn ids() -> (OrgId, UserId) {
    (OrgId::parse("o1").unwrap(), UserId::parse("u1").unwrap())
}

#[tokio::test]
async fn a_server_error_is_tried_three_times_in_one_call() {
    let (sim, api, _server) = start().await;
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let (org, user) = ids();
    let got = api.put_account(&org, &user, &account()).await;
    assert!(
        matches!(&got, Err(ProductApiError::Unavailable(r)) if r == "status 500"),
        "{got:?}"
    );
    assert_eq!(sim.calls(None).len(), 3);

    // once the product API answers, one call creates the account
    sim.set_faults(Faults::default()).unwrap();
    let got = api.put_account(&org, &user, &account()).await;
    assert!(matches!(got, Ok(AccountWrite::Created)), "{got:?}");
    assert_eq!(sim.calls(None).len(), 4);
}

#[tokio::test]
async fn a_rate_limit_is_not_retried_at_once() {
    let (sim, api, _server) = start().await;
    sim.set_faults(Faults {
        rate_limit: Some(RateLimit {
            remaining: 5,
            retry_after_seconds: 7,
        }),
        ..Faults::default()
    })
    .unwrap();
    let (org, user) = ids();
    let got = api.put_account(&org, &user, &account()).await;
    assert!(
        matches!(
            got,
            Err(ProductApiError::RateLimited {
                retry_after_seconds: 7
            })
        ),
        "{got:?}"
    );
    assert_eq!(sim.calls(None).len(), 1);
}

#[tokio::test]
async fn a_timeout_is_not_retried_at_once() {
    let (sim, api, _server) = start().await;
    sim.set_faults(Faults {
        timeout_rate: 1.0,
        timeout_ms: 2_000,
        ..Faults::default()
    })
    .unwrap();
    let (org, user) = ids();
    let got = api.put_account(&org, &user, &account()).await;
    assert!(
        matches!(&got, Err(ProductApiError::Unavailable(r)) if r == "timeout"),
        "{got:?}"
    );
    // the simulator logs a call when it answers: wait out the held one
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(sim.calls(None).len(), 1);
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let (sim, api, _server) = start().await;
    sim.set_existing_accounts(vec!["ada@example.com".into()]);
    let (org, user) = ids();
    let got = api.put_account(&org, &user, &account()).await;
    assert!(
        matches!(got, Err(ProductApiError::ExistingAccount)),
        "{got:?}"
    );
    assert_eq!(sim.calls(None).len(), 1);
}

#[tokio::test]
async fn the_products_an_account_offers_are_read_with_their_seats() {
    let (sim, api, _server) = start().await;
    let (org, user) = ids();
    sim.set_products(
        org.as_str(),
        Some(vec![
            product_api_sim::Product {
                id: "G2M".into(),
                name: "GoTo Meeting".into(),
                device_groups: false,
            },
            product_api_sim::Product {
                id: "G2C".into(),
                name: "GoTo Connect".into(),
                device_groups: true,
            },
        ]),
    );
    sim.set_seats(org.as_str(), [("G2M".to_owned(), 10)].into());
    api.put_account(&org, &user, &account()).await.unwrap();
    let products = api.products(&org).await.unwrap();
    let view: Vec<_> = products
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.name.as_str(),
                p.device_groups,
                p.seats.limit,
                p.seats.used,
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("G2M", "GoTo Meeting", false, Some(10), 1),
            ("G2C", "GoTo Connect", true, None, 0)
        ]
    );

    // a product API that does not answer is unavailable, never an empty list
    sim.set_org_faults(
        org.as_str(),
        Some(Faults {
            down: true,
            ..Faults::default()
        }),
    )
    .unwrap();
    let got = api.products(&org).await;
    assert!(
        matches!(got, Err(ProductApiError::Unavailable(_))),
        "{got:?}"
    );
}
