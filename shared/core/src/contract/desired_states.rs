//! The contract of [`DesiredStates`].

use std::collections::BTreeSet;

use super::{Checked, assert_conflict, fresh_org, uid};
use crate::StoreError;
use crate::directory::DirectoryStatus;
use crate::ports::{DesiredStates, DesiredWrite, SyncOutcomes};
use crate::progress::{DesiredSummary, SyncSummary};
use crate::rules::effective_assignment;
use crate::rules::{AssignmentStatus, SuspendReason};
use crate::state::{DesiredState, Outcome, SyncStatus};

/// A desired state at `generation`, giving nothing.
pub fn desired(generation: u64) -> DesiredState {
    let user = crate::memory::member(&uid("u-facts"));
    DesiredState {
        generation,
        facts: user.facts(),
        assignment: effective_assignment(DirectoryStatus::Active, &BTreeSet::new(), &[]),
        language: None,
        updated_at: "2026-01-02T03:04:05.000Z".into(),
        cause: None,
    }
}

/// A success at `applied_generation`.
pub fn success(applied_generation: u64) -> SyncStatus {
    SyncStatus {
        applied_generation,
        last_outcome: Outcome::Success,
        failure: None,
        attempts: 1,
        at: "2026-01-02T03:04:05.000Z".into(),
        dead_lettered: false,
        retried_at: None,
        failure_entry: None,
    }
}

/// Storing by generation, reading one user or several.
pub async fn desired_states<S: DesiredStates + SyncOutcomes>(s: &S) -> Checked {
    let org = fresh_org();
    let (ada, grace, none) = (uid("u-ada"), uid("u-grace"), uid("u-none"));
    assert_eq!(s.user_state(&org, &ada).await?, (None, None));
    assert_conflict(
        s.put_desired(&org, &ada, &desired(1), Some(0)).await,
        "a generation expected where none is stored",
    );
    s.put_desired(&org, &ada, &desired(1), None).await?;
    assert_conflict(
        s.put_desired(&org, &ada, &desired(2), None).await,
        "nothing expected where a state is stored",
    );
    assert_conflict(
        s.put_desired(&org, &ada, &desired(3), Some(2)).await,
        "a stale generation",
    );
    s.put_desired(&org, &ada, &desired(2), Some(1)).await?;
    assert_eq!(s.user_state(&org, &ada).await?, (Some(desired(2)), None));

    s.record_status(&org, &grace, &success(4)).await?;
    assert_eq!(s.user_state(&org, &grace).await?, (None, Some(success(4))));

    let states = s
        .user_states(&org, &[ada.clone(), none.clone(), grace.clone()])
        .await?;
    assert_eq!(states.len(), 2, "users with neither left out");
    assert_eq!(states.get(&ada), Some(&(Some(desired(2)), None)));
    assert_eq!(states.get(&grace), Some(&(None, Some(success(4)))));
    assert!(s.user_states(&org, &[]).await?.is_empty());

    // many at once, over more than one transaction's worth: each under its
    // own condition, a conflict failing only its own write
    let many: Vec<_> = (0..30).map(|i| uid(&format!("u-many-{i:02}"))).collect();
    let (first, second) = (desired(1), desired(2));
    let writes: Vec<DesiredWrite<'_>> = many
        .iter()
        .enumerate()
        .map(|(i, user)| DesiredWrite {
            user,
            state: &first,
            expected_generation: (i == 7).then_some(4),
        })
        .collect();
    let results = s.put_desired_many(&org, &writes).await;
    assert_eq!(results.len(), 30, "one result per write");
    for (i, r) in results.into_iter().enumerate() {
        if i == 7 {
            assert_conflict(r, "a generation expected where none is stored, in a batch");
        } else {
            r?;
        }
    }
    let stored = s.user_states(&org, &many).await?;
    assert_eq!(stored.len(), 29, "all but the conflicting write stored");
    assert!(!stored.contains_key(&many[7]));
    let again = [
        DesiredWrite {
            user: &many[0],
            state: &second,
            expected_generation: Some(1),
        },
        DesiredWrite {
            user: &many[1],
            state: &second,
            expected_generation: None,
        },
    ];
    let mut results = s.put_desired_many(&org, &again).await.into_iter();
    assert!(
        matches!(results.next(), Some(Ok(()))),
        "the generation stored: written"
    );
    assert!(
        matches!(results.next(), Some(Err(StoreError::Conflict(_)))),
        "nothing expected where a state is stored, in a batch"
    );
    assert_eq!(
        s.user_state(&org, &many[0]).await?.0.map(|d| d.generation),
        Some(2)
    );
    assert_eq!(
        s.user_state(&org, &many[1]).await?.0.map(|d| d.generation),
        Some(1)
    );
    let one = s
        .put_desired_many(
            &org,
            &[DesiredWrite {
                user: &many[7],
                state: &first,
                expected_generation: None,
            }],
        )
        .await;
    assert!(matches!(one.as_slice(), [Ok(())]), "a batch of one");
    assert!(s.put_desired_many(&org, &[]).await.is_empty());

    // an active desired state: the summary says so (the suspension's reason
    // is read with the generation, not the whole state)
    let lin = uid("u-lin");
    let mut active = desired(1);
    active.assignment.status = AssignmentStatus::Active;
    s.put_desired(&org, &lin, &active, None).await?;

    let summaries = s
        .sync_summaries(&org, &[ada.clone(), none, grace.clone(), lin.clone()])
        .await?;
    assert_eq!(summaries.len(), 3, "users with neither left out");
    assert_eq!(
        summaries.get(&lin).and_then(|l| l.desired),
        Some(DesiredSummary {
            generation: 1,
            suspended: None
        })
    );
    assert_eq!(
        summaries.get(&ada),
        Some(&SyncSummary {
            desired: Some(DesiredSummary {
                generation: 2,
                suspended: Some(SuspendReason::NoMatchingRule)
            }),
            status: None
        })
    );
    assert_eq!(
        summaries.get(&grace),
        Some(&SyncSummary {
            desired: None,
            status: Some(success(4))
        })
    );
    assert_eq!(s.user_state(&fresh_org(), &ada).await?, (None, None));
    Ok(())
}
