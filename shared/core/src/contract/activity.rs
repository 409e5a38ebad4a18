//! The contract of [`ActivityLog`].

use super::sync_outcomes::entry;
use super::{Checked, all_pages, fresh_org};
use crate::activity::{Action, ActivityEntry, ActivityFilter, Subject, SubjectKind};
use crate::clock::Clock;
use crate::ids::OrgId;
use crate::ports::ActivityLog;
use crate::state::Outcome;

/// Entries `filter` wants, every page of `limit`.
async fn listed<S: ActivityLog>(
    s: &S,
    org: &OrgId,
    filter: &ActivityFilter,
    limit: usize,
) -> Result<Vec<String>, crate::StoreError> {
    let all = all_pages(limit, |before: Option<String>| async move {
        s.activity(org, filter, before.as_deref(), limit).await
    })
    .await?;
    Ok(all.into_iter().map(|e| e.id).collect())
}

/// An entry `minutes_ago` before the clock's time.
fn ago(clock: &dyn Clock, minutes_ago: i64, action: Action, user: &str) -> ActivityEntry {
    let at = crate::time::format(clock.now() - time::Duration::minutes(minutes_ago));
    ActivityEntry {
        id: format!("{at}#{user}"),
        at,
        ..entry(clock, action, user)
    }
}

/// Newest first, filtered, paged, without expired entries.
pub async fn activity<S: ActivityLog, C: Clock>(s: &S, clock: &C) -> Checked {
    let org = fresh_org();
    assert_eq!(
        s.activity(&org, &ActivityFilter::default(), None, 10)
            .await?,
        (vec![], None)
    );
    let written = [
        ago(clock, 50, Action::AccountCreated, "u-1"),
        ago(clock, 40, Action::AccountCreated, "u-2"),
        ago(clock, 30, Action::SyncFailed, "u-1"),
        ago(clock, 20, Action::AccountUpdated, "u-3"),
        ago(clock, 10, Action::SyncFailed, "u-2"),
    ];
    for e in &written {
        s.append_activity(&org, e).await?;
    }
    // written past any retention (at most ten years): expired at once
    let old = ago(clock, 3_651 * 24 * 60, Action::AccountCreated, "u-old");
    s.append_activity(&org, &old).await?;
    let mut failed = ago(clock, 5, Action::SyncFailed, "u-3");
    failed.outcome = Outcome::Failure;
    s.append_activity(&org, &failed).await?;

    let newest_first: Vec<String> = [&failed]
        .into_iter()
        .chain(written.iter().rev())
        .map(|e| e.id.clone())
        .collect();
    for limit in [1, 2, 3, 10] {
        assert_eq!(
            listed(s, &org, &ActivityFilter::default(), limit).await?,
            newest_first,
            "newest first, pages of {limit}, the expired entry left out"
        );
    }
    let (page, next) = s
        .activity(&org, &ActivityFilter::default(), None, 2)
        .await?;
    assert_eq!(page, [failed.clone(), written[4].clone()]);
    let (rest, _) = s
        .activity(&org, &ActivityFilter::default(), next.as_deref(), 10)
        .await?;
    assert_eq!(
        rest,
        [3, 2, 1, 0].map(|i| written[i].clone()),
        "after the cursor"
    );

    let by_action = ActivityFilter {
        action: Some(Action::SyncFailed),
        ..ActivityFilter::default()
    };
    assert_eq!(
        listed(s, &org, &by_action, 1).await?,
        [&failed, &written[4], &written[2]].map(|e| e.id.clone())
    );
    let by_user = ActivityFilter {
        subject: Some(Subject {
            kind: SubjectKind::User,
            id: "u-1".into(),
        }),
        ..ActivityFilter::default()
    };
    assert_eq!(
        listed(s, &org, &by_user, 10).await?,
        [&written[2], &written[0]].map(|e| e.id.clone())
    );
    let by_outcome = ActivityFilter {
        outcome: Some(Outcome::Failure),
        ..ActivityFilter::default()
    };
    assert_eq!(listed(s, &org, &by_outcome, 10).await?, [failed.id.clone()]);
    let in_range = ActivityFilter {
        from: Some(written[1].at.clone()),
        to: Some(written[3].at.clone()),
        ..ActivityFilter::default()
    };
    assert_eq!(
        listed(s, &org, &in_range, 2).await?,
        [3, 2, 1].map(|i| written[i].id.clone()),
        "from and to inclusive"
    );
    let (none, _) = s
        .activity(&fresh_org(), &ActivityFilter::default(), None, 10)
        .await?;
    assert!(none.is_empty(), "another organization");
    Ok(())
}
