use super::*;
use user_sync_core::clock::SystemClock;
use user_sync_core::directory::DirectoryUser;
use user_sync_core::memory::member;
use user_sync_core::rules::{AdminRole, Priority};
use user_sync_core::state::Outcome;

fn org() -> OrgId {
    OrgId::parse("acme").unwrap()
}

fn gid() -> GroupId {
    GroupId::parse("g").unwrap()
}

fn ctx() -> Context {
    Context::new(
        vec![Rule {
            id: RuleId::parse("r").unwrap(),
            group_id: gid(),
            description: String::new(),
            priority: Priority::new(1).unwrap(),
            products: BTreeSet::from(["G2M".to_owned()]),
            admin_role: Some(AdminRole::FullAdmin),
            user_group: None,
            device_groups: BTreeSet::new(),
            settings_template: None,
            email_template: None,
            language: None,
        }],
        SyncSettings {
            enabled: true,
            changed_at: None,
            changed_by: None,
        },
        Some("en".into()),
    )
}

/// `step` for [`user`] of [`org`] under [`ctx`]'s rules.
fn step_u1(
    groups: &BTreeSet<GroupId>,
    state: (Option<&DesiredState>, Option<&SyncStatus>),
    cause: &str,
    force: bool,
) -> Step {
    step_for(&user(), groups, state, cause, force)
}

/// `step` for `user` of [`org`] under [`ctx`]'s rules.
fn step_for(
    user: &StoredUser,
    groups: &BTreeSet<GroupId>,
    state: (Option<&DesiredState>, Option<&SyncStatus>),
    cause: &str,
    force: bool,
) -> Step {
    let (org, ctx) = (org(), ctx());
    let round = Round {
        org: &org,
        ctx: &ctx,
        cause,
        force,
        clock: &SystemClock,
    };
    step(&round, user, groups, state)
}

fn user() -> StoredUser {
    StoredUser {
        user: DirectoryUser {
            given_name: None,
            email: None,
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-01T00:00:00Z".into(),
            ..member(&UserId::parse("u1").unwrap())
        },
        attributes: serde_json::json!({}),
    }
}

/// The state an earlier reconcile stored and the worker applied.
fn applied(cause: &str) -> (DesiredState, SyncStatus) {
    let Step::Write(w) = step_u1(&BTreeSet::from([gid()]), (None, None), cause, false) else {
        panic!("a first state is written");
    };
    let status = SyncStatus {
        applied_generation: w.next.generation,
        last_outcome: Outcome::Success,
        failure: None,
        attempts: 1,
        at: SystemClock.timestamp(),
        dead_lettered: false,
        retried_at: None,
        failure_entry: None,
    };
    (w.next, status)
}

#[test]
fn the_account_language_falls_back_to_the_organizations_default() {
    let groups = BTreeSet::from([gid()]);
    let Step::Write(w) = step_for(&user(), &groups, (None, None), "s", false) else {
        panic!("a first state is written");
    };
    assert_eq!(w.next.account().locale.as_deref(), Some("en"));
    // the directory's locale comes first
    let mut french = user();
    french.user.locale = Some("fr".into());
    let Step::Write(w) = step_for(&french, &groups, (None, None), "s", false) else {
        panic!("a first state is written");
    };
    assert_eq!(w.next.account().locale.as_deref(), Some("fr"));
}

#[test]
fn an_unchanged_applied_user_gets_nothing_unless_forced() {
    let (stored, status) = applied("seq-1");
    let groups = BTreeSet::from([gid()]);
    let state = (Some(&stored), Some(&status));
    assert!(matches!(
        step_u1(&groups, state, "fanout:rule-2:0", false),
        Step::Nothing
    ));
    let Step::Write(w) = step_u1(&groups, state, "fanout:reconcile-3:0", true) else {
        panic!("a forced reconcile writes a new generation");
    };
    assert!(w.job, "and sends its job");
    assert_eq!(w.next.generation, stored.generation + 1);
    assert_eq!(w.expected, Some(stored.generation));
    assert_eq!(w.next.account(), stored.account());
    assert_eq!(w.next.cause.as_deref(), Some("fanout:reconcile-3:0"));
}

#[test]
fn a_retried_forced_chunk_resends_rather_than_forcing_again() {
    let (stored, status) = applied("seq-1");
    let groups = BTreeSet::from([gid()]);
    let cause = "fanout:reconcile-3:0";
    let Step::Write(w) = step_u1(&groups, (Some(&stored), Some(&status)), cause, true) else {
        panic!("forced");
    };
    // the chunk is retried before the worker applied the new generation
    let Step::Send(job) = step_u1(&groups, (Some(&w.next), Some(&status)), cause, true) else {
        panic!("its job is sent again");
    };
    assert_eq!(job.generation, w.next.generation);
    // and after the worker applied it: nothing more
    let done = SyncStatus {
        applied_generation: w.next.generation,
        ..status
    };
    assert!(matches!(
        step_u1(&groups, (Some(&w.next), Some(&done)), cause, true,),
        Step::Nothing
    ));
}

#[test]
fn a_forced_reconcile_also_reaches_users_no_rule_matches() {
    // a user outside every rule's group is suspended; forced, it is
    // sent again all the same
    let (stored, status) = applied("seq-1");
    let Step::Write(first) = step_u1(
        &BTreeSet::new(),
        (Some(&stored), Some(&status)),
        "seq-2",
        false,
    ) else {
        panic!("leaving the group changes the account");
    };
    let applied = SyncStatus {
        applied_generation: first.next.generation,
        ..status
    };
    let Step::Write(w) = step_u1(
        &BTreeSet::new(),
        (Some(&first.next), Some(&applied)),
        "fanout:reconcile-4:0",
        true,
    ) else {
        panic!("forced");
    };
    assert!(w.job);
    assert_eq!(w.next.generation, first.next.generation + 1);
}
