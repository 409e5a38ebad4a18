//! The evaluator's handler, given stream records (the fixtures in
//! `events/evaluator/`), against the real DynamoDB adapters on the emulator,
//! with a job queue that records what it is sent (and can fail on purpose).
//! Duplicated, retried and out-of-order records are part of the cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::dynamodb::{Event, EventRecord};
use evaluator::kept_rules::KeptRules;
use evaluator::languages::DefaultLanguages;
use local_stack::emulator::Emulator;
use local_stack::resolve::Resolver;
use local_stack::template::{ResourceKind, Template};
use serde_json::json;
use user_sync_aws::dynamo::items::{FanOutItem, sk};
use user_sync_aws::dynamo::{BothTables, DirectoryTable, StateTable};
use user_sync_core::StoreError;
use user_sync_core::directory::{DirectoryGroup, DirectoryUser};
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::{GroupId, OrgId, RuleId, UserId};
use user_sync_core::job::EntitlementJob;
use user_sync_core::ports::{
    Configuration, DesiredStates, FanOuts, Groups, JobQueue, Memberships, RuleWrite, StoredUser,
    SyncOutcomes, SyncSettings, Users,
};
use user_sync_core::rules::{AdminRole, Priority, Rule};
use user_sync_core::state::{DesiredState, FailureClass, Outcome, SyncStatus};
use user_sync_tests::put_users;

#[path = "evaluator/fan_outs.rs"]
mod fan_outs;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Jobs sent; `failing` send calls fail first.
#[derive(Default)]
struct RecordingQueue {
    jobs: Mutex<Vec<EntitlementJob>>,
    failing: AtomicUsize,
}

impl RecordingQueue {
    fn take(&self) -> Vec<EntitlementJob> {
        std::mem::take(&mut *self.jobs.lock().unwrap())
    }
}

impl JobQueue for RecordingQueue {
    async fn send_jobs(&self, jobs: &[EntitlementJob]) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        if self
            .failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Transient(
                "the queue is unavailable (on purpose)".into(),
            ));
        }
        self.jobs.lock().unwrap().extend_from_slice(jobs);
        Ok(())
    }

    async fn dead_letter(&self, _: &EntitlementJob, _: FailureClass) -> Result<(), StoreError> {
        Err(StoreError::Invalid(
            "the evaluator never dead-letters".into(),
        ))
    }

    async fn retry_after(
        &self,
        _: &user_sync_core::ports::DeliveryToken,
        _: u32,
    ) -> Result<(), StoreError> {
        Err(StoreError::Invalid(
            "the evaluator never delays a job".into(),
        ))
    }

    async fn defer(&self, _: &EntitlementJob, _: u32) -> Result<(), StoreError> {
        Err(StoreError::Invalid(
            "the evaluator never defers a job".into(),
        ))
    }
}

struct World {
    _emulator: Emulator,
    ddb: aws_sdk_dynamodb::Client,
    directory: DirectoryTable,
    state: StateTable,
    jobs: RecordingQueue,
    /// Kept across batches, as a warm instance keeps them.
    languages: DefaultLanguages,
    rules: KeptRules,
    org: OrgId,
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn gid(s: &str) -> GroupId {
    GroupId::parse(s).unwrap()
}

fn group(id: &str, name: &str) -> DirectoryGroup {
    DirectoryGroup {
        id: gid(id),
        display_name: name.into(),
        external_id: None,
        created: "2026-11-01T09:00:00Z".into(),
        last_modified: "2026-11-01T09:00:00Z".into(),
        version: 1,
    }
}

fn rule(id: &str, group: &str, products: &[&str], role: Option<AdminRole>) -> Rule {
    Rule {
        id: RuleId::parse(id).unwrap(),
        group_id: gid(group),
        description: String::new(),
        priority: Priority::new(1).unwrap(),
        products: products.iter().map(|p| (*p).to_owned()).collect(),
        admin_role: role,
        user_group: None,
        device_groups: BTreeSet::new(),
        settings_template: None,
        email_template: None,
        language: None,
    }
}

fn directory_user(id: &str, active: bool, version: u64) -> StoredUser {
    StoredUser {
        user: DirectoryUser {
            id: uid(id),
            user_name: format!("{id}@example.com"),
            external_id: None,
            active,
            deleted: false,
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            email: Some(format!("{id}@example.com")),
            locale: None,
            created: "2026-11-01T09:00:00Z".into(),
            last_modified: "2026-11-01T09:00:00Z".into(),
            version,
            link: Default::default(),
        },
        attributes: json!({}),
    }
}

fn fixture(name: &str) -> Vec<EventRecord> {
    let path = repo_root().join("events/evaluator").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let event: Event = serde_json::from_str(&text).unwrap();
    event.records
}

impl World {
    /// A fresh emulator with the template's two tables, and the demo
    /// organization's group `g1` with users `u1`..: what the fixtures name.
    async fn new() -> Self {
        let emulator = Emulator::start(&repo_root(), None)
            .await
            .unwrap_or_else(|e| panic!("{}", local_stack::error_chain(&e)));
        let sdk = local_stack::stack::sdk_config(emulator.endpoint_url()).await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let template = Template::load(&repo_root().join("template.yaml")).unwrap();
        let resolver = Resolver::new();
        let mut names = BTreeMap::new();
        for r in &template.resources {
            if let ResourceKind::Table(props) = &r.kind {
                let props = resolver.resolve_tree(props).unwrap();
                let t = local_stack::resources::create_table(&ddb, &r.logical_id, &props)
                    .await
                    .unwrap();
                names.insert(r.logical_id.clone(), t.name);
            }
        }
        let world = World {
            _emulator: emulator,
            directory: DirectoryTable::new(ddb.clone(), names["DirectoryTable"].clone()),
            state: StateTable::new(ddb.clone(), names["StateTable"].clone(), 30),
            ddb,
            jobs: RecordingQueue::default(),
            languages: DefaultLanguages::default(),
            rules: KeptRules::default(),
            org: OrgId::parse("demo").unwrap(),
        };
        world
            .directory
            .create_group(&world.org, &group("g1", "EMEA Analysts"))
            .await
            .unwrap();
        world
    }

    /// `n` users in group `g1`, a Full Admin rule `r1` granting `G2M` to
    /// it, and sync on.
    async fn synced(n: usize) -> Self {
        let w = Self::new().await;
        w.users(n, "g1").await;
        w.add_rule(rule("r1", "g1", &["G2M"], Some(AdminRole::FullAdmin)))
            .await;
        w.sync(true).await;
        w
    }

    /// Users `u1`..`u{n}` in `group`. Written in batches (a transaction per
    /// user is slow on the emulator, whose transactions copy the table).
    async fn users(&self, n: usize, group: &str) -> Vec<UserId> {
        let ids: Vec<UserId> = (1..=n).map(|i| uid(&format!("u{i}"))).collect();
        let users: Vec<DirectoryUser> = ids
            .iter()
            .map(|id| directory_user(id.as_str(), true, 1).user)
            .collect();
        put_users(&self.ddb, self.directory.table_name(), &self.org, &users).await;
        self.directory
            .add_members(&self.org, &gid(group), &ids)
            .await
            .unwrap();
        ids
    }

    async fn add_rule(&self, r: Rule) {
        let set = self.directory.rule_set(&self.org).await.unwrap();
        let mut order = set.order();
        order.push(r.id.clone());
        self.directory
            .write_rules(&self.org, &RuleWrite::Create(r), &order, &set)
            .await
            .unwrap();
    }

    /// The organization's running fan-outs (at most 10).
    async fn running_fan_outs(&self) -> Vec<FanOutTask> {
        self.directory
            .running_fan_outs(&self.org, 10)
            .await
            .unwrap()
    }

    async fn sync(&self, enabled: bool) {
        let set = self.directory.rule_set(&self.org).await.unwrap();
        let sync = SyncSettings {
            enabled,
            changed_at: None,
            changed_by: None,
        };
        self.directory
            .put_sync(&self.org, &sync, set.version)
            .await
            .unwrap();
    }

    /// `u1` in `g1`, a Full Admin rule on `g1`, sync on, and `u1`'s first
    /// generation applied.
    async fn one_synced_user(&self) {
        self.users(1, "g1").await;
        self.add_rule(rule("r1", "g1", &["G2M"], Some(AdminRole::FullAdmin)))
            .await;
        self.sync(true).await;
        self.process(fixture("membership-insert.json")).await;
        assert_eq!(self.jobs.take().len(), 1);
        self.applied("u1", 1).await;
    }

    /// Runs the handler; the sequence numbers it reported as failed.
    async fn process(&self, records: Vec<EventRecord>) -> Vec<String> {
        let response = evaluator::process(
            &self.directory,
            &self.state,
            &BothTables::new(&self.directory, &self.state),
            &self.jobs,
            &self.languages,
            &self.rules,
            records,
        )
        .await;
        response
            .batch_item_failures
            .into_iter()
            .filter_map(|f| f.item_identifier)
            .collect()
    }

    /// `u1`'s membership record delivered again: the users of the jobs it
    /// sent.
    async fn membership_again(&self) -> Vec<String> {
        assert!(
            self.process(fixture("membership-insert.json"))
                .await
                .is_empty()
        );
        users_of(&self.jobs.take())
    }

    /// `user`'s desired state, stored.
    async fn desired(&self, user: &str) -> DesiredState {
        let (desired, _) = self.state.user_state(&self.org, &uid(user)).await.unwrap();
        desired.unwrap()
    }

    /// `user` deactivated in the directory (its next version).
    async fn deactivate(&self, user: &str) {
        let previous = self
            .directory
            .get_user(&self.org, &uid(user))
            .await
            .unwrap()
            .unwrap();
        let mut inactive = directory_user(user, false, 2);
        inactive.user.version = previous.user.version + 1;
        self.directory
            .replace_user(&self.org, &previous.user, &inactive)
            .await
            .unwrap();
    }

    async fn generation(&self, user: &str) -> Option<u64> {
        let (desired, _) = self.state.user_state(&self.org, &uid(user)).await.unwrap();
        desired.map(|d| d.generation)
    }

    /// Records that the worker applied `generation` for `user`.
    async fn applied(&self, user: &str, generation: u64) {
        let status = SyncStatus {
            applied_generation: generation,
            last_outcome: Outcome::Success,
            failure: None,
            attempts: 1,
            at: "2026-11-22T09:00:00Z".into(),
            dead_lettered: false,
            retried_at: None,
            failure_entry: None,
        };
        let entry = user_sync_core::activity::ActivityEntry::new(
            "2026-11-22T09:00:00Z".into(),
            &format!("{user}-{generation}"),
            "Sync user",
            user_sync_core::activity::Action::AccountUpdated,
            user_sync_core::activity::Subject {
                kind: user_sync_core::activity::SubjectKind::User,
                id: user.into(),
            },
            Outcome::Success,
        );
        self.state
            .record_outcome(&self.org, &uid(user), &status, &entry)
            .await
            .unwrap();
    }

    /// The stream record of a fan-out task as stored now.
    async fn task_record(&self, id: &str, seq: u64) -> (FanOutTask, EventRecord) {
        let task = self
            .directory
            .get_fan_out(&self.org, id)
            .await
            .unwrap()
            .unwrap();
        let item = FanOutItem {
            pk: format!("{}#FANOUT", self.org),
            sk: format!("{}{}", sk::TASK, task.id),
            org_id: self.org.clone(),
            task_id: task.id.clone(),
            chunk: task.chunk,
            done: task.done,
            task: serde_json::to_string(&task).unwrap(),
            expires_at: None,
        };
        let mut record = fixture("fanout-chunk.json").remove(0);
        record.change.new_image = serde_dynamo::to_item(&item).unwrap();
        record.change.sequence_number = Some(seq.to_string());
        (task, record)
    }
}

fn users_of(jobs: &[EntitlementJob]) -> Vec<String> {
    let mut v: Vec<String> = jobs.iter().map(|j| j.user_id.to_string()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_enqueues_one_job_and_a_redelivery_changes_nothing_once_applied() {
    let w = World::new().await;
    w.users(1, "g1").await;
    w.add_rule(rule("r1", "g1", &["G2M"], Some(AdminRole::FullAdmin)))
        .await;
    // sync off: the change is recorded in the directory, nothing is decided
    assert!(
        w.process(fixture("membership-insert.json"))
            .await
            .is_empty()
    );
    assert!(w.jobs.take().is_empty());
    assert_eq!(w.generation("u1").await, None);

    w.sync(true).await;
    assert!(
        w.process(fixture("membership-insert.json"))
            .await
            .is_empty()
    );
    let jobs = w.jobs.take();
    assert_eq!(users_of(&jobs), ["u1"]);
    assert_eq!(jobs[0].generation, 1);

    // Lambda redelivers the same record (its job may not have been sent):
    // the same job again, never a new generation
    w.process(fixture("membership-insert.json")).await;
    let again = w.jobs.take();
    assert_eq!(again, jobs);
    assert_eq!(w.generation("u1").await, Some(1));

    // once the worker applied it, a redelivery has nothing to do
    w.applied("u1", 1).await;
    w.process(fixture("membership-insert.json")).await;
    assert!(w.jobs.take().is_empty());
    assert_eq!(w.generation("u1").await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_no_rule_reads_enqueue_nothing() {
    let w = World::new().await;
    w.one_synced_user().await;
    // Entra's periodic active=true, a title change, a rule stored again
    // with only its (ignored) priority field, a rule appended to the order
    for f in [
        "user-modify-noop.json",
        "user-modify-title.json",
        "rule-modify-priority-only.json",
        "order-append.json",
    ] {
        assert!(w.process(fixture(f)).await.is_empty(), "{f}");
        assert!(w.jobs.take().is_empty(), "{f} enqueued a job");
    }
    assert_eq!(w.generation("u1").await, Some(1));
    // turning sync off reconciles nobody, but the configuration this batch
    // read is stale after it
    let off = fixture("sync-disable.json");
    assert_eq!(
        evaluator::affected(&off[0]).unwrap(),
        evaluator::Affected::Switched(w.org.clone())
    );
    assert!(w.running_fan_outs().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_a_warm_instance_kept_are_never_used_after_they_changed() {
    let w = World::new().await;
    // this instance read and kept the rules (r1: G2M) at the first batch
    w.one_synced_user().await;

    // another instance handles a change of r1 (GTW too); this one never
    // sees its record
    let set = w.directory.rule_set(&w.org).await.unwrap();
    let mut stored = set.get(&RuleId::parse("r1").unwrap()).unwrap().clone();
    stored.rule.products.insert("GTW".into());
    w.directory
        .write_rules(
            &w.org,
            &RuleWrite::Update {
                rule: stored.rule,
                expected_version: stored.version,
            },
            &set.order(),
            &set,
        )
        .await
        .unwrap();
    // the user's next record (its membership, delivered again) is decided
    // on the rules as they are now
    assert_eq!(w.membership_again().await, ["u1"]);
    let products = w.desired("u1").await.assignment.products;
    assert_eq!(products, BTreeSet::from(["G2M".into(), "GTW".into()]));
    w.applied("u1", 2).await;

    // sync turned off elsewhere (the rules unchanged, as kept): the user's
    // deactivation is recorded in the directory, nothing is decided
    w.sync(false).await;
    w.deactivate("u1").await;
    assert!(w.membership_again().await.is_empty());
    assert_eq!(w.generation("u1").await, Some(2));
    // and on again: decided with the rules kept
    w.sync(true).await;
    assert_eq!(w.membership_again().await, ["u1"]);
    assert!(!w.desired("u1").await.assignment.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_out_of_order_never_move_a_user_back() {
    let w = World::new().await;
    w.one_synced_user().await;

    // the directory's last word: deactivated (version 3)
    w.deactivate("u1").await;

    // records delivered newest first, then the older one replayed: the
    // evaluator reads the directory, not the image, so both say "suspended"
    let records = fixture("user-deactivate-reactivate-reversed.json");
    assert!(w.process(records.clone()).await.is_empty());
    let jobs = w.jobs.take();
    assert_eq!(users_of(&jobs), ["u1"]);
    assert_eq!(w.generation("u1").await, Some(2));
    let (desired, _) = w.state.user_state(&w.org, &uid("u1")).await.unwrap();
    assert!(!desired.unwrap().assignment.is_active());
    w.applied("u1", 2).await;
    w.process(vec![records[1].clone(), records[0].clone()])
        .await;
    assert!(w.jobs.take().is_empty());
    assert_eq!(w.generation("u1").await, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_batch_delivered_twice_or_reversed_decides_nothing_new() {
    let w = World::synced(1).await;
    // one batch: the membership, two user changes, a rule stored again
    let mut batch = fixture("membership-insert.json");
    for f in [
        "user-modify-noop.json",
        "user-modify-title.json",
        "rule-modify-priority-only.json",
    ] {
        batch.extend(fixture(f));
    }
    assert!(w.process(batch.clone()).await.is_empty());
    let jobs = w.jobs.take();
    assert_eq!(users_of(&jobs), ["u1"]);
    assert_eq!(w.generation("u1").await, Some(1));

    // the same batch again, then reversed, before the worker applied it:
    // the same job (its send may have been lost), never a new generation
    assert!(w.process(batch.clone()).await.is_empty());
    assert_eq!(w.jobs.take(), jobs);
    let mut reversed = batch.clone();
    reversed.reverse();
    assert!(w.process(reversed.clone()).await.is_empty());
    assert_eq!(w.jobs.take(), jobs);
    assert_eq!(w.generation("u1").await, Some(1));

    // once applied, neither order has anything to do
    w.applied("u1", 1).await;
    for records in [batch, reversed] {
        assert!(w.process(records).await.is_empty());
        assert!(w.jobs.take().is_empty());
    }
    assert_eq!(w.generation("u1").await, Some(1));
}
