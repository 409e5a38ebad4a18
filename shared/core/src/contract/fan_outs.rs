//! The contract of [`FanOuts`].

use super::{Checked, assert_conflict, fresh_org};
use crate::fanout::{FanOutScope, FanOutTask};
use crate::ports::FanOuts;

fn task(id: &str, created_at: &str) -> FanOutTask {
    FanOutTask::new(
        id.to_owned(),
        "rule",
        FanOutScope::Everyone,
        created_at.to_owned(),
    )
}

/// Starting (harmlessly repeated), advancing chunk by chunk, listing the
/// running tasks oldest first.
pub async fn fan_outs<S: FanOuts>(s: &S) -> Checked {
    let org = fresh_org();
    assert_eq!(s.get_fan_out(&org, "t-none").await?, None);
    let first = task("t-1", "2026-01-02T00:00:02.000Z");
    s.start_fan_out(&org, &first).await?;
    assert_eq!(s.get_fan_out(&org, "t-1").await?, Some(first.clone()));

    let mut advanced = first.clone();
    advanced.chunk = 1;
    advanced.users = 500;
    s.advance_fan_out(&org, &advanced).await?;
    assert_eq!(s.get_fan_out(&org, "t-1").await?, Some(advanced.clone()));
    // a replayed start changes nothing
    s.start_fan_out(&org, &first).await?;
    assert_eq!(s.get_fan_out(&org, "t-1").await?, Some(advanced.clone()));
    assert_conflict(
        s.advance_fan_out(&org, &advanced).await,
        "the same chunk twice",
    );
    let mut skipping = advanced.clone();
    skipping.chunk = 3;
    assert_conflict(s.advance_fan_out(&org, &skipping).await, "a chunk skipped");
    let mut missing = task("t-none", "2026-01-02T00:00:00.000Z");
    missing.chunk = 1;
    assert_conflict(s.advance_fan_out(&org, &missing).await, "a missing task");

    s.start_fan_out(&org, &task("t-0", "2026-01-02T00:00:01.000Z"))
        .await?;
    s.start_fan_out(&org, &task("t-2", "2026-01-02T00:00:03.000Z"))
        .await?;
    let mut done = advanced.clone();
    done.chunk = 2;
    done.done = true;
    s.advance_fan_out(&org, &done).await?;
    let running: Vec<String> = s
        .running_fan_outs(&org, 10)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(running, ["t-0", "t-2"], "not done, oldest first");
    assert_eq!(s.running_fan_outs(&org, 1).await?.len(), 1, "at most limit");
    assert!(s.running_fan_outs(&fresh_org(), 10).await?.is_empty());
    Ok(())
}
