//! The DynamoDB adapters of `Organizations`, `Tokens`, `Configuration` and
//! `Templates` keep the contracts their ports state (the same checks the
//! in-memory fakes pass: `user_sync_core::contract`), on the AWS emulator
//! with the DirectoryTable created from `template.yaml`. One emulator for
//! the binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use local_stack::emulator::Emulator;
use local_stack::resolve::Resolver;
use local_stack::resources::create_table;
use local_stack::template::{ResourceKind, Template};
use tokio::sync::OnceCell;
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::contract;
use user_sync_core::ids::OrgId;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

/// The emulator and the DirectoryTable's name, once per binary.
static EMULATOR: OnceCell<(Emulator, aws_sdk_dynamodb::Client, String)> = OnceCell::const_new();

async fn table() -> DirectoryTable {
    let (_, client, name) = EMULATOR
        .get_or_init(|| async {
            let root = repo_root();
            let emulator = Emulator::start(&root, None)
                .await
                .expect("the AWS emulator must start");
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(emulator.endpoint_url())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::from_keys(
                    "local", "local", None,
                ))
                .load()
                .await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            let template = Template::load(&root.join("template.yaml")).expect("template.yaml");
            let properties = template
                .resources
                .iter()
                .find_map(|r| match &r.kind {
                    ResourceKind::Table(p) if r.logical_id == "DirectoryTable" => Some(p),
                    _ => None,
                })
                .expect("the DirectoryTable in template.yaml");
            let properties = Resolver::new()
                .resolve_tree(properties)
                .expect("its properties");
            let created = create_table(&client, "DirectoryTable", &properties)
                .await
                .expect("the DirectoryTable");
            (emulator, client, created.name)
        })
        .await;
    DirectoryTable::new(client.clone(), name.clone())
}

fn org(id: &str) -> OrgId {
    OrgId::parse(id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_adapters_keep_the_ports_contracts() {
    let table = table().await;
    contract::organizations::check(&table, "contract").await;
    contract::tokens::check(&table, &org("tokens")).await;
    contract::configuration::check(&table, &org("config")).await;
    contract::templates::check(&table, &org("templates")).await;
}
