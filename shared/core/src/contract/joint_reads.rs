//! The contract of [`ReconcileReads`] and [`WelcomeReads`]: one read gives
//! what the separate reads of each table give.

use std::collections::{BTreeSet, HashMap};

use super::desired_states::{desired, success};
use super::groups::group;
use super::users::stored_user;
use super::{Checked, fresh_org, gid, uid};
use crate::ids::GroupId;
use crate::ports::{
    DesiredStates, Groups, Memberships, Organization, Organizations, ReconcileInputs,
    ReconcileReads, SyncOutcomes, Users, WelcomeInputs, WelcomeReads,
};

/// `d` and `s` are the two tables' adapters, `r` reads across both.
pub async fn joint_reads<D, S, R>(d: &D, s: &S, r: &R) -> Checked
where
    D: Users + Groups + Memberships + Organizations,
    S: DesiredStates + SyncOutcomes,
    R: ReconcileReads + WelcomeReads,
{
    let org = fresh_org();
    let (ada, grace, none) = (uid("u-ada"), uid("u-grace"), uid("u-none"));
    d.create_user(&org, &stored_user("u-ada", "ada@example.com"))
        .await?;
    d.create_user(&org, &stored_user("u-grace", "grace@example.com"))
        .await?;
    d.create_group(&org, &group("g-a", "A")).await?;
    d.create_group(&org, &group("g-b", "B")).await?;
    d.add_members(&org, &gid("g-a"), &[ada.clone(), grace.clone()])
        .await?;
    d.add_members(&org, &gid("g-b"), std::slice::from_ref(&ada))
        .await?;
    s.put_desired(&org, &ada, &desired(1), None).await?;
    s.record_status(&org, &grace, &success(1)).await?;

    let ids = [ada.clone(), grace.clone(), none.clone()];
    let few: BTreeSet<GroupId> = ["g-a", "g-b", "g-none"].map(gid).into();
    // more groups than a batched membership read takes: each user's own
    let many: BTreeSet<GroupId> = (0..30)
        .map(|n| gid(&format!("g-{n}")))
        .chain([gid("g-a")])
        .collect();
    for groups in [&few, &many, &BTreeSet::new()] {
        let mut users = Vec::new();
        for id in &ids {
            users.extend(d.get_user(&org, id).await?);
        }
        let expected = ReconcileInputs {
            users,
            memberships: d.memberships_among(&org, &ids, groups).await?,
            states: s.user_states(&org, &ids).await?,
        };
        assert_eq!(expected.users.len(), 2);
        assert_eq!(
            r.users_to_reconcile(&org, &ids, groups).await?,
            expected,
            "users, memberships among {groups:?} and states, read together"
        );
        assert_eq!(
            r.states_to_reconcile(&org, &ids, groups).await?,
            ReconcileInputs {
                users: Vec::new(),
                ..expected
            },
            "memberships among {groups:?} and states of listed users"
        );
    }
    assert_eq!(
        r.users_to_reconcile(&org, &[], &few).await?,
        ReconcileInputs::default()
    );

    let one = |user: &crate::ids::UserId| [(org.clone(), user.clone())];
    assert_eq!(
        r.welcome_inputs(&one(&ada)).await?.of(&org, &ada),
        (None, Some(desired(1)))
    );
    let organization = Organization::new(org.clone(), "Joint", "2026-12-01T09:00:00.000Z");
    d.create_org(&organization).await?;
    assert_eq!(
        r.welcome_inputs(&one(&ada)).await?.of(&org, &ada),
        (Some(organization.clone()), Some(desired(1)))
    );
    assert_eq!(
        r.welcome_inputs(&one(&grace)).await?.of(&org, &grace),
        (Some(organization.clone()), None),
        "a status alone is no desired state"
    );
    assert_eq!(r.welcome_inputs(&[]).await?, WelcomeInputs::default());

    // a batch: several users of several organizations, one asked twice
    let other = fresh_org();
    let elsewhere = Organization::new(other.clone(), "Other", "2026-12-01T09:00:00.000Z");
    d.create_org(&elsewhere).await?;
    s.put_desired(&other, &ada, &desired(3), None).await?;
    let batch = [
        (org.clone(), ada.clone()),
        (org.clone(), grace.clone()),
        (other.clone(), ada.clone()),
        (org.clone(), ada.clone()),
        (fresh_org(), none.clone()),
    ];
    let read = r.welcome_inputs(&batch).await?;
    assert_eq!(
        read.orgs,
        HashMap::from([(org.clone(), organization), (other.clone(), elsewhere)]),
        "each organization found once; a missing one left out"
    );
    assert_eq!(
        read.desired,
        HashMap::from([
            ((org.clone(), ada.clone()), desired(1)),
            ((other, ada), desired(3)),
        ]),
        "each user's own organization's state"
    );
    Ok(())
}
