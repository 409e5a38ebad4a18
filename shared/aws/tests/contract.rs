//! The ports' contract checks (`user_sync_core::contract`) run against the
//! DynamoDB adapters, on the AWS emulator with the tables of
//! `template.yaml` (created as the local stack creates them). One emulator
//! for the whole binary; every check works in an organization of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use local_stack::emulator::Emulator;
use local_stack::resolve::Resolver;
use local_stack::template::{ResourceKind, Template};
use user_sync_aws::dynamo::items::{sk, user_pk};
use user_sync_aws::dynamo::{BothTables, DirectoryTable, StateTable};
use user_sync_core::clock::SystemClock;
use user_sync_core::contract;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::STALE_EMAIL_CLAIM_SECONDS;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

/// The two tables, created from `template.yaml` in a fresh emulator.
async fn tables(emulator: &Emulator) -> (DirectoryTable, StateTable, aws_sdk_dynamodb::Client) {
    let config = local_stack::stack::sdk_config(emulator.endpoint_url()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let template = Template::load(&repo_root().join("template.yaml")).expect("the template");
    let resolver = Resolver::new();
    let mut names = std::collections::BTreeMap::new();
    for resource in &template.resources {
        let id = resource.logical_id.as_str();
        if let ResourceKind::Table(properties) = &resource.kind
            && ["DirectoryTable", "StateTable"].contains(&id)
        {
            let properties = resolver.resolve_tree(properties).expect("resolved");
            let table = local_stack::resources::create_table(&client, id, &properties)
                .await
                .expect("the table");
            names.insert(id.to_owned(), table.name);
        }
    }
    let directory = DirectoryTable::new(client.clone(), names["DirectoryTable"].clone());
    let state = StateTable::new(client.clone(), names["StateTable"].clone(), 365)
        .with_org_retention(names["DirectoryTable"].clone());
    (directory, state, client)
}

/// Runs one check and says how long it took (each check on the heap: all
/// of them at once would not fit the test thread's stack).
async fn timed(name: &str, check: impl Future<Output = contract::Checked>) {
    let started = Instant::now();
    Box::pin(check)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e} ({e:?})"));
    eprintln!("contract {name}: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_adapters_keep_the_ports_contracts() {
    let emulator = Emulator::start(&repo_root(), None)
        .await
        .expect("the AWS emulator must start (.venv with moto)");
    let (directory, state, client) = tables(&emulator).await;
    let state_table = state.table_name().to_owned();
    let both = BothTables::new(&directory, &state);
    // a claim made STALE_EMAIL_CLAIM_SECONDS ago: rewritten in place
    let make_stale = |org: OrgId, user: UserId, key: String| {
        let (client, table) = (client.clone(), state_table.clone());
        async move {
            let then = time::OffsetDateTime::now_utc()
                - time::Duration::seconds(STALE_EMAIL_CLAIM_SECONDS + 1);
            client
                .update_item()
                .table_name(table)
                .key("pk", AttributeValue::S(user_pk(&org, &user)))
                .key("sk", AttributeValue::S(format!("{}{key}", sk::EMAIL)))
                .update_expression("SET claimedAt = :then")
                .expression_attribute_values(
                    ":then",
                    AttributeValue::S(user_sync_core::time::format(then)),
                )
                .send()
                .await
                .expect("the claim rewritten");
        }
    };
    let started = Instant::now();
    futures::join!(
        timed("users", contract::users::users(&directory)),
        timed("groups", contract::groups::groups(&directory)),
        timed(
            "group_with_users",
            contract::groups::group_with_users(&directory)
        ),
        timed("fan_outs", contract::fan_outs::fan_outs(&directory)),
        timed(
            "joint_reads",
            contract::joint_reads::joint_reads(&directory, &state, &both)
        ),
        timed("token_reads", contract::tokens::token_reads(&directory)),
        timed(
            "returning_index",
            contract::returning::returning_index(&directory)
        ),
        timed(
            "job_reads",
            contract::joint_reads::job_reads(&directory, &state, &both)
        ),
        timed(
            "desired_states",
            contract::desired_states::desired_states(&state)
        ),
        timed(
            "sync_outcomes",
            contract::sync_outcomes::sync_outcomes(&state, &SystemClock)
        ),
        timed(
            "activity",
            contract::activity::activity(&state, &SystemClock)
        ),
        timed(
            "email_claims",
            contract::email_claims::email_claims(&state, &SystemClock, make_stale)
        ),
        timed(
            "failure_index",
            contract::failure_index::failure_index(&state)
        ),
        timed(
            "organizations",
            contract::organizations::organizations(&directory)
        ),
        timed("tokens", contract::tokens::tokens(&directory)),
        timed(
            "configuration",
            contract::configuration::configuration(&directory)
        ),
        timed("templates", contract::templates::templates(&directory)),
        timed("sso", contract::sso::sso(&directory)),
    );
    eprintln!("every contract: {:?}", started.elapsed());
    an_organizations_own_retention_is_read_through_its_item(&directory, &state).await;
    emulator.stop().await;
}

/// The StateTable keeps an organization's entries for the retention on its
/// organization item (read through the DirectoryTable's mapping of it).
async fn an_organizations_own_retention_is_read_through_its_item(
    directory: &DirectoryTable,
    state: &StateTable,
) {
    use user_sync_core::activity::{Action, ActivityFilter};
    use user_sync_core::ports::{ActivityLog, Organization, Organizations};

    let org = contract::fresh_org();
    directory
        .create_org(&Organization {
            id: org.clone(),
            name: "Retention".into(),
            default_language: "en".into(),
            created: "2026-01-02T03:04:05.000Z".into(),
            custom_attributes: vec![],
            suspension_guardrail_percent: 10,
            activity_retention_days: Some(1),
            catalog: None,
            version: 1,
            setting_versions: Default::default(),
            drift_check: Default::default(),
        })
        .await
        .unwrap();
    let mut entry = contract::sync_outcomes::entry(&SystemClock, Action::AccountCreated, "u-1");
    entry.at =
        user_sync_core::time::format(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    entry.id = format!("{}#u-1", entry.at);
    state.append_activity(&org, &entry).await.unwrap();
    let (listed, _) = state
        .activity(&org, &ActivityFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(
        listed.is_empty(),
        "kept one day (the default would keep it a year)"
    );
}
