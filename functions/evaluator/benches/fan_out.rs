//! A rule change's fan-out in-process: a rule names a group of 100,000
//! members, and the evaluator's reconciler (`Reconciler::apply`) starts the
//! fan-out task and works through it a chunk (500 users) at a time — members
//! listed, users, memberships and states read in batches, each user's
//! effective assignment computed and decided, the desired states written and
//! the jobs sent — until the task is done and every member has a job. The
//! ports are the in-memory ones of `user_sync_core::memory`, so the figure
//! is our own code's, without DynamoDB or SQS latency. The organization has
//! 20 rules; every member is also in two groups no rule names. Run with
//! `cargo bench -p evaluator --bench fan_out` (see docs/performance.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use evaluator::{Affected, Reconciler, Tally};
use serde_json::json;
use user_sync_core::clock::SystemClock;
use user_sync_core::ids::{GroupId, OrgId, RuleId, UserId};
use user_sync_core::memory::{MemoryStore, member};
use user_sync_core::ports::{
    FanOuts, Memberships, RuleSet, StoredRule, StoredUser, SyncSettings, Users,
};
use user_sync_core::rules::{AdminRole, Priority, Rule};

const MEMBERS: usize = 100_000;
const RULES: usize = 20;

fn group(name: &str) -> GroupId {
    GroupId::parse(name).unwrap()
}

/// 20 rules; the first names the big group.
fn rule_set() -> RuleSet {
    let rules = (0..RULES)
        .map(|i| {
            let rule = Rule {
                id: RuleId::parse(&format!("rule-{i:02}")).unwrap(),
                group_id: if i == 0 {
                    group("everyone")
                } else {
                    group(&format!("team-{i:02}"))
                },
                description: format!("Rule {i}"),
                priority: Priority::new(u32::try_from(i + 1).unwrap()).unwrap(),
                products: ["chat", "docs", "crm"][..2 + i % 2]
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
                admin_role: (i == 1).then_some(AdminRole::FullAdmin),
                user_group: None,
                device_groups: BTreeSet::new(),
                settings_template: None,
                email_template: None,
                language: None,
            };
            StoredRule { rule, version: 1 }
        })
        .collect();
    RuleSet {
        rules,
        sync: SyncSettings {
            enabled: true,
            changed_at: None,
            changed_by: None,
        },
        version: 1,
    }
}

/// The organization: its members, in the big group and two others.
fn store(org: &OrgId) -> MemoryStore {
    let store = MemoryStore::default();
    let ids: Vec<UserId> = (0..MEMBERS)
        .map(|i| UserId::parse(&format!("user-{i:06}")).unwrap())
        .collect();
    // in-memory writes never wait: polled here, outside the measured time
    futures::executor::block_on(async {
        for id in &ids {
            let stored = StoredUser {
                user: member(id),
                attributes: json!({}),
            };
            store.create_user(org, &stored).await.unwrap();
        }
        for g in ["everyone", "office-emea", "building-2"] {
            store.add_members(org, &group(g), &ids).await.unwrap();
        }
    });
    store.put_rule_set(org, rule_set());
    store
}

/// Starts the rule's fan-out and runs every chunk, as the stream would
/// deliver them; returns the number of jobs sent.
async fn fan_out(store: &MemoryStore, org: &OrgId) -> usize {
    let reconciler = Reconciler {
        directory: store,
        state: store,
        reads: store,
        jobs: store,
        languages: &evaluator::languages::DefaultLanguages::default(),
        rules: &evaluator::kept_rules::KeptRules::default(),
        clock: &SystemClock,
        tally: Tally::default(),
    };
    let mut contexts = HashMap::new();
    let groups = BTreeSet::from([group("everyone")]);
    reconciler
        .apply(&mut contexts, Affected::Groups(org.clone(), groups), "1")
        .await
        .unwrap();
    let mut seq = 1u64;
    while let Some(task) = store.running_fan_outs(org, 1).await.unwrap().pop() {
        seq += 1;
        reconciler
            .apply(
                &mut contexts,
                Affected::Chunk(org.clone(), Box::new(task)),
                &seq.to_string(),
            )
            .await
            .unwrap();
    }
    store.take_jobs().len()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let org = OrgId::parse("bench-org").unwrap();

    // every member gets a job, once
    let check = store(&org);
    assert_eq!(runtime.block_on(fan_out(&check, &org)), MEMBERS);
    drop(check);

    let mut g = c.benchmark_group("fan_out");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MEMBERS as u64));
    g.bench_function("rule_change_100000_members", |b| {
        b.to_async(&runtime).iter_batched(
            || store(&org),
            |store| async {
                let jobs = fan_out(&store, &org).await;
                // dropping 100,000 users is the setup's cost, not the fan-out's
                (jobs, store)
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
