//! Test harness: one local stack per test process (the AWS emulator, the
//! local runner with every function, the product API simulator), started by
//! the harness itself; each test gets its own organization, so tests run in
//! parallel without seeing each other.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_credential_types::Credentials;
use local_stack::emulator::Emulator;
use local_stack::{Stack, StackOptions};
use product_api_sim::SimConfig;
use serde_json::Value;
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::directory::DirectoryUser;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::Memberships;

pub mod directory_servers;
pub mod dns;
pub mod harness;
pub mod http_event;
pub mod latency;
pub mod oidc;
pub mod onboard;

pub use harness::*;

/// What a test needs to know about the running stack.
#[derive(Debug, Clone)]
pub struct StackInfo {
    pub scim_url: String,
    pub api_url: String,
    pub product_api_url: String,
    pub aws_endpoint_url: String,
    pub directory_table: String,
    pub state_table: String,
    /// Queue logical id → URL.
    pub queues: std::collections::BTreeMap<String, String>,
    /// The ARN of the secret holding the product API key.
    pub product_api_key_secret: String,
    /// Every AWS call the functions made so far, one JSON line each (see
    /// `StackOptions::record_calls`).
    pub aws_calls: PathBuf,
    /// Each function's invocation counters (by binary).
    pub functions: std::collections::BTreeMap<String, Arc<local_stack::functions::Counters>>,
}

impl StackInfo {
    /// What the function `name` (its binary: `scim`, `evaluator`, …) has done
    /// since the stack started.
    pub fn stats(&self, name: &str) -> local_stack::InvocationStats {
        self.functions
            .get(name)
            .map(|c| c.snapshot())
            .unwrap_or_default()
    }
}

static STACK: OnceLock<Result<StackInfo, String>> = OnceLock::new();
static PAUSED: OnceLock<Vec<String>> = OnceLock::new();
static PARAMETERS: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// The shared stack, with the queue event sources of these functions
/// disabled (their messages stay in the queue). Only the first call of a
/// test process decides.
pub fn stack_pausing(functions: &[&str]) -> &'static StackInfo {
    let _ignored = PAUSED.set(functions.iter().map(|f| (*f).to_owned()).collect());
    stack()
}

/// The shared stack, with these template parameters over their defaults.
/// Only the first call of a test process decides.
pub fn stack_with_parameters(parameters: &[(&str, &str)]) -> &'static StackInfo {
    let _ignored = PARAMETERS.set(
        parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    stack()
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .expect("the tests crate lives inside the repository")
}

/// Cargo's target folder: `CARGO_TARGET_DIR`, or `target` in the repository.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

/// The AWS emulator and the product API simulator, started on their own
/// (outside any stack, so that they outlive one, as they outlive a killed
/// runner): the emulator, and the simulator's base URL. The emulator stops
/// when dropped; the simulator serves until the runtime ends.
pub async fn services_outside_a_stack() -> (Emulator, String) {
    let emulator = Emulator::start(&repo_root(), None)
        .await
        .expect("the AWS emulator must start");
    let simulator = product_api_sim::Simulator::new(SimConfig {
        api_key: local_stack::PRODUCT_API_KEY.to_owned(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the simulator");
    let product_api = format!(
        "http://{}",
        listener.local_addr().expect("the simulator's address")
    );
    tokio::spawn(simulator.serve(listener));
    (emulator, product_api)
}

/// The shared stack, started on first use on a runtime of its own (tests
/// each have their own runtime, which ends with the test). If it cannot start
/// — the emulator is missing or broken — every test fails with the reason.
pub fn stack() -> &'static StackInfo {
    let result = STACK.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        init_logs();
        // the functions' metric lines, kept for the tests rather than printed
        user_sync_aws::metrics::record();
        std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ignored = tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let aws_calls = std::env::temp_dir()
                    .join(format!("user-sync-aws-calls-{}.jsonl", std::process::id()));
                let options = StackOptions {
                    record_calls: Some(aws_calls.clone()),
                    repo_root: repo_root(),
                    aws_endpoint_url: None,
                    http_port: 0,
                    simulator_port: 0,
                    product_api_url: None,
                    paused: PAUSED
                        .get()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                    schedule_every: None,
                    // domain verification asks the tests' DNS server
                    parameters: std::iter::once((
                        "DnsServer".to_owned(),
                        dns::dns().addr().to_string(),
                    ))
                    .chain(PARAMETERS.get().cloned().unwrap_or_default())
                    .collect(),
                };
                match Stack::start(options).await {
                    Ok(stack) => {
                        let info = StackInfo {
                            scim_url: stack.scim_url.clone(),
                            api_url: stack.api_url.clone(),
                            product_api_url: stack.product_api_url.clone(),
                            aws_endpoint_url: stack.aws_endpoint_url.clone(),
                            directory_table: stack.directory_table.clone(),
                            state_table: stack.state_table.clone(),
                            queues: stack.queues.clone(),
                            product_api_key_secret: stack.product_api_key_secret.clone(),
                            aws_calls,
                            functions: stack.counters(),
                        };
                        let _ignored = tx.send(Ok(info));
                        // keep serving until the test process exits
                        std::future::pending::<()>().await;
                        drop(stack);
                    }
                    Err(e) => {
                        let _ignored = tx.send(Err(format!("{e}")));
                    }
                }
            });
        });
        rx.recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| Err(format!("the local stack did not report within 120 s: {e}")))
    });
    match result {
        Ok(info) => info,
        Err(e) => panic!("the local stack could not start: {e}"),
    }
}

/// With `USER_SYNC_TEST_LOG=<file>`, the stack's logs (every function
/// invocation) go to that file; a failing pipeline test is then explained.
fn init_logs() {
    let Ok(path) = std::env::var("USER_SYNC_TEST_LOG") else {
        return;
    };
    let Ok(file) = std::fs::File::create(&path) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ignored = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// SDK configuration for the stack's emulator, for the calling runtime.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&stack().aws_endpoint_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::from_keys("local", "local", None))
        .load()
        .await
}

/// The stack's directory table, through a client of the calling runtime.
pub async fn directory() -> DirectoryTable {
    DirectoryTable::new(
        aws_sdk_dynamodb::Client::new(&sdk_config().await),
        stack().directory_table.clone(),
    )
}

/// Sets the custom SCIM attributes an organization captures (as `ops
/// custom-attributes set` does).
pub async fn set_custom_attributes(org: &TestOrg, names: &[&str]) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let org_id = org.id();
    ops::set_custom_attributes(&directory().await, &org_id, &names)
        .await
        .expect("set custom attributes");
}

/// Sets up an organization's catalogue lists as ops do (`ops catalog
/// set`: no activity entry): `privileges`, `userGroups`, `deviceGroups`,
/// `settingsTemplates`, each `[{"id", "name"}]`. The products are the
/// product API's (the simulator's `set_products`).
pub async fn set_catalog(org: &TestOrg, lists: serde_json::Value) {
    let catalog = serde_json::from_value(lists).expect("a catalogue");
    ops::set_catalog(&directory().await, &org.id(), catalog)
        .await
        .expect("set the catalogue");
}

/// A DynamoDB item, as the adapters write it.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// Writes items straight into a table, 25 per `BatchWriteItem`.
pub async fn put_items(ddb: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .expect("put request");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let out = ddb
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .expect("batch write");
        assert!(
            out.unprocessed_items.is_none_or(|m| m.is_empty()),
            "the emulator left writes unprocessed"
        );
    }
}

/// Writes users straight into a directory table, as the SCIM function stores
/// them (for large cases: creating thousands through SCIM, one transaction
/// each, would measure SCIM instead).
pub async fn put_users(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    org: &OrgId,
    users: &[DirectoryUser],
) {
    let items = users
        .iter()
        .map(|u| {
            let item = user_sync_aws::dynamo::items::UserItem::new(org, u, "{}".into());
            serde_dynamo::to_item(&item).expect("user item")
        })
        .collect();
    put_items(ddb, table, items).await;
}

/// Writes `n` active users (`member-00000`, …) straight into the directory
/// (see [`put_users`]) as members of `group`; returns their ids.
pub async fn put_members(org: &OrgId, group: &GroupId, n: usize) -> Vec<UserId> {
    let ids: Vec<UserId> = (0..n)
        .map(|i| UserId::parse(&format!("member-{i:05}")).expect("user id"))
        .collect();
    let users: Vec<DirectoryUser> = ids.iter().map(user_sync_core::memory::member).collect();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = directory().await;
    put_users(&ddb, table.table_name(), org, &users).await;
    table
        .add_members(org, group, &ids)
        .await
        .expect("add the members");
    ids
}

/// Sets the share of users a change may suspend unconfirmed (as `ops
/// guardrail set` does).
pub async fn set_guardrail(org: &TestOrg, percent: u8) {
    let org_id = org.id();
    ops::set_guardrail(&directory().await, &org_id, percent)
        .await
        .expect("set the guardrail");
}

/// Emails the emulator's SES accepted for `to`.
pub async fn emails_to(client: &Client, to: &str) -> Vec<Value> {
    let url = Urls::of_stack().aws_data();
    let (status, data) = client.send("GET", &url, None, None).await;
    assert_eq!(status, 200, "moto data endpoint");
    data["ses"]["Message"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter(|m| {
                    m["destinations"]["ToAddresses"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == to))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
