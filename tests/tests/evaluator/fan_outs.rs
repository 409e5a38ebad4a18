//! Fan-outs: a rule change in chunks with one job per member (even after a
//! failure), reordering, sync off stopping one under way, a forced reconcile.

use super::*;

/// Runs a fan-out task chunk by chunk, as the stream would; returns the
/// chunks processed. `fail_at` makes that chunk's first send fail once.
async fn run_fan_out(w: &World, id: &str, fail_at: Option<u64>) -> u64 {
    let mut seq = 600_000_000_000_000_000u64;
    let mut chunks = 0;
    loop {
        seq += 1;
        let (task, record) = w.task_record(id, seq).await;
        if task.done {
            return chunks;
        }
        if fail_at == Some(task.chunk) {
            w.jobs.failing.store(1, Ordering::SeqCst);
            let failed = w.process(vec![record.clone()]).await;
            assert_eq!(failed, [seq.to_string()], "the failed chunk is reported");
            // Lambda retries the same record
        }
        assert!(w.process(vec![record]).await.is_empty());
        chunks += 1;
        assert!(chunks < 100, "the fan-out does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_fans_out_in_chunks_with_one_job_per_member_even_after_a_failure() {
    let w = World::new().await;
    let members = w.users(1_200, "g1").await;
    w.add_rule(rule("r1", "g1", &["G2M"], Some(AdminRole::FullAdmin)))
        .await;
    w.sync(true).await;

    // the rule record only starts the task
    assert!(w.process(fixture("rule-insert.json")).await.is_empty());
    assert!(w.jobs.take().is_empty());
    let running = w.running_fan_outs().await;
    assert_eq!(running.len(), 1);
    let id = running[0].id.clone();
    assert_eq!(id, "rule-300000000000000000001");
    // a replayed rule record starts nothing new
    w.process(fixture("rule-insert.json")).await;
    assert_eq!(w.running_fan_outs().await.len(), 1);

    // 1,200 members in chunks of 500; the second chunk's send fails once
    let chunks = run_fan_out(&w, &id, Some(1)).await;
    assert_eq!(chunks, 3);
    let jobs = w.jobs.take();
    let users = users_of(&jobs);
    let distinct: BTreeSet<&String> = users.iter().collect();
    assert_eq!(distinct.len(), members.len(), "every member got a job");
    assert_eq!(jobs.len(), members.len(), "and only one");
    let task = w.directory.get_fan_out(&w.org, &id).await.unwrap().unwrap();
    assert!(task.done);
    assert_eq!((task.users, task.jobs), (1_200, 1_200));

    // a replayed chunk record after the task moved on does nothing
    let mut stale = fixture("fanout-chunk.json");
    stale[0].change.sequence_number = Some("700000000000000000001".into());
    w.process(stale).await;
    assert!(w.jobs.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordering_fans_out_to_the_moved_rules_groups_and_sync_on_to_everyone() {
    let w = World::new().await;
    for (g, name) in [("g2", "Sales"), ("g3", "Support")] {
        w.directory
            .create_group(&w.org, &group(g, name))
            .await
            .unwrap();
    }
    w.users(3, "g2").await;
    w.add_rule(rule("r1", "g1", &["G2M"], Some(AdminRole::FullAdmin)))
        .await;
    w.add_rule(rule("r2", "g2", &["G2W"], Some(AdminRole::None)))
        .await;
    w.add_rule(rule("r3", "g3", &["G2T"], None)).await;

    // sync off: a reorder is recorded, nothing starts
    w.process(fixture("order-modify.json")).await;
    assert!(w.running_fan_outs().await.is_empty());

    w.sync(true).await;
    w.process(fixture("sync-enable.json")).await;
    let tasks = w.running_fan_outs().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        serde_json::to_value(&tasks[0].scope).unwrap(),
        json!({"kind": "everyone"})
    );
    let id = tasks[0].id.clone();
    run_fan_out(&w, &id, None).await;
    assert_eq!(users_of(&w.jobs.take()), ["u1", "u2", "u3"]);

    w.process(fixture("order-modify.json")).await;
    let tasks = w.running_fan_outs().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        serde_json::to_value(&tasks[0].scope).unwrap(),
        json!({"kind": "groups", "groups": ["g2", "g3"]})
    );
    let id = tasks[0].id.clone();
    run_fan_out(&w, &id, None).await;
    // r2 and r3 swapped; nothing a member of g2 has depends on that order
    assert!(w.jobs.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_sync_off_stops_a_fan_out_under_way() {
    let w = World::synced(600).await;
    w.process(fixture("rule-insert.json")).await;
    let id = "rule-300000000000000000001";
    let (_, first) = w.task_record(id, 800_000_000_000_000_001).await;
    w.process(vec![first]).await;
    assert_eq!(w.jobs.take().len(), 500);

    w.sync(false).await;
    let (_, second) = w.task_record(id, 800_000_000_000_000_002).await;
    w.process(vec![second]).await;
    assert!(w.jobs.take().is_empty());
    let task = w.directory.get_fan_out(&w.org, id).await.unwrap().unwrap();
    assert!(task.done, "sync-on reconciles everyone anyway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_reconcile_sends_every_user_once_although_nothing_changed() {
    let w = World::new().await;
    w.one_synced_user().await;
    let more = w.users(600, "g1").await;
    w.process(fixture("sync-enable.json")).await;
    let tasks = w.running_fan_outs().await;
    run_fan_out(&w, &tasks[0].id, None).await;
    // sync-on: u1 was applied already; the others are new
    assert_eq!(w.jobs.take().len(), more.len() - 1);
    assert_eq!(w.generation("u1").await, Some(1));

    // `ops reconcile`: every user again, in chunks, one job each, even after
    // a chunk's send failed once
    let task = FanOutTask::forced_reconcile("reconcile-1-ab".into(), "2026-11-22T10:00:00Z".into());
    w.directory.start_fan_out(&w.org, &task).await.unwrap();
    let chunks = run_fan_out(&w, &task.id, Some(1)).await;
    assert_eq!(chunks, 2);
    let jobs = w.jobs.take();
    let users = users_of(&jobs);
    let distinct: BTreeSet<&String> = users.iter().collect();
    assert_eq!(distinct.len(), more.len(), "every user got a job");
    assert_eq!(jobs.len(), more.len(), "and only one");
    let u1 = jobs.iter().find(|j| j.user_id.as_str() == "u1").unwrap();
    assert_eq!(
        u1.generation, 2,
        "an applied, unchanged user: a new generation"
    );
    let done = w
        .directory
        .get_fan_out(&w.org, &task.id)
        .await
        .unwrap()
        .unwrap();
    assert!(done.done && done.force);
    assert_eq!((done.users, done.jobs), (600, 600));

    // a task that is not forced finds nothing to do
    w.applied("u1", 2).await;
    let plain = FanOutTask::new(
        "sync_on-9".into(),
        "sync_on",
        user_sync_core::fanout::FanOutScope::Everyone,
        "2026-11-22T10:01:00Z".into(),
    );
    w.directory.start_fan_out(&w.org, &plain).await.unwrap();
    run_fan_out(&w, &plain.id, None).await;
    assert!(w.jobs.take().is_empty());
}
