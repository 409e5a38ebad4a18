//! The contract of [`ReconcileReads`], [`JobReads`] and [`WelcomeReads`]:
//! one read gives what the separate reads of each table give.

use std::collections::{BTreeSet, HashMap};

use super::desired_states::{desired, success};
use super::groups::group;
use super::users::stored_user;
use super::{Checked, fresh_org, gid, uid};
use crate::StoreError;
use crate::domains::{DomainName, DomainState, Domains, OrgDomain, check_email};
use crate::ids::GroupId;
use crate::ports::{
    ConfigStamp, Configuration, DesiredStates, Groups, JobInputs, JobReads, Memberships,
    Organization, Organizations, ReconcileInputs, ReconcileReads, RuleWrite, SyncOutcomes,
    SyncSettings, Users, WelcomeInputs, WelcomeReads,
};

/// `d` and `s` are the two tables' adapters, `r` reads across both.
pub async fn joint_reads<D, S, R>(d: &D, s: &S, r: &R) -> Checked
where
    D: Users + Groups + Memberships + Organizations + Configuration,
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

    // with the configuration's stamp: as the rule set has it, before any
    // rule, after one, after sync is turned on; with no users, alone
    for step in 0..3 {
        let set = d.rule_set(&org).await?;
        if step == 1 {
            let rule = crate::memory::product_rule(
                crate::ids::RuleId::parse("r-joint").map_err(StoreError::permanent)?,
                gid("g-a"),
                crate::rules::Priority::new(1).map_err(StoreError::permanent)?,
                &["G2M"],
            );
            let order = [rule.id.clone()];
            d.write_rules(&org, &RuleWrite::Create(rule), &order, &set)
                .await?;
        } else if step == 2 {
            let on = SyncSettings {
                enabled: true,
                changed_at: Some("2026-12-06T09:00:00.000Z".into()),
                changed_by: Some("Contract".into()),
            };
            d.put_sync(&org, &on, set.version).await?;
        }
        let stamp = ConfigStamp::of(&d.rule_set(&org).await?);
        assert_eq!(stamp.version, u64::from(step > 0));
        assert_eq!(stamp.sync.enabled, step == 2);
        assert_eq!(
            r.users_with_config(&org, &ids, &few).await?,
            (r.users_to_reconcile(&org, &ids, &few).await?, stamp.clone()),
            "step {step}: the users as read alone, the stamp as the rule set's"
        );
        assert_eq!(
            r.users_with_config(&org, &[], &few).await?,
            (ReconcileInputs::default(), stamp)
        );
    }
    let empty = fresh_org();
    assert_eq!(
        r.users_with_config(&empty, &ids, &few).await?,
        (
            ReconcileInputs::default(),
            ConfigStamp::of(&d.rule_set(&empty).await?)
        ),
        "an organization with nothing stored"
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

fn domain_name(name: &str) -> Result<DomainName, StoreError> {
    DomainName::parse(name).map_err(StoreError::permanent)
}

/// A domain of the organization, verified.
fn held(name: &str, include_subdomains: bool) -> Result<OrgDomain, StoreError> {
    let at = time::macros::datetime!(2026-12-01 10:00 UTC);
    let mut d = OrgDomain::new(domain_name(name)?, include_subdomains, "Alice", at)
        .map_err(StoreError::permanent)?;
    d.state = DomainState::Verified {
        verified_by: "Alice".into(),
        verified_at: "2026-12-01T10:00:00.000Z".into(),
        last_checked: None,
    };
    Ok(d)
}

/// A job's read: the user's state as [`DesiredStates::user_state`] reads
/// it, and of the organization's domains (as [`Domains::list_domains`]
/// lists them) those that could cover an address in the domain asked for.
pub async fn job_reads<D, S, R>(d: &D, s: &S, r: &R) -> Checked
where
    D: Domains + Organizations,
    S: DesiredStates + SyncOutcomes,
    R: JobReads,
{
    let org = fresh_org();
    let organization = Organization::new(org.clone(), "Jobs", "2026-12-01T09:00:00.000Z");
    d.create_org(&organization).await?;
    let organization = d.get_org(&org).await?;
    assert!(organization.is_some());
    let (ada, none) = (uid("u-ada"), uid("u-none"));
    s.put_desired(&org, &ada, &desired(2), None).await?;
    s.record_status(&org, &ada, &success(1)).await?;
    for (name, subdomains) in [
        ("example.com", true),
        ("eu.example.com", false),
        ("mail.eu.example.com", false),
        ("ample.com", true),
        ("example.org", true),
    ] {
        d.add_domain(&org, &held(name, subdomains)?).await?;
    }
    // another organization's domain of the very name asked for
    let other = fresh_org();
    d.add_domain(&other, &held("sales.eu.example.com", true)?)
        .await?;
    let listed = d.list_domains(&org).await?;
    let state = s.user_state(&org, &ada).await?;
    let names = |read: &JobInputs| {
        read.domains
            .as_ref()
            .map(|ds| ds.iter().map(|x| x.domain.to_string()).collect::<Vec<_>>())
    };
    let asked = domain_name("sales.eu.example.com")?;
    // twice: the organization's other items read with the state, then not
    for _ in 0..2 {
        let read = r.job_inputs(&org, &ada, Some(&asked)).await?;
        assert_eq!((read.desired.clone(), read.status.clone()), state);
        assert_eq!(read.organization, organization, "with the organization");
        assert_eq!(
            names(&read),
            Some(vec!["eu.example.com".to_owned(), "example.com".to_owned()]),
            "the domain asked for and its parents that the organization holds, by name"
        );
        let found = read.domains.unwrap_or_default();
        assert!(found.iter().all(|x| listed.contains(x)), "as stored");
        for address in ["a@sales.eu.example.com", "a@eu.example.com"] {
            assert_eq!(
                check_email(&found, address).is_ok(),
                check_email(&listed, address).is_ok(),
                "{address}: the domains read decide as all of them do"
            );
        }
    }
    assert_eq!(
        r.job_inputs(&org, &ada, None).await?,
        JobInputs {
            desired: state.0,
            status: state.1,
            domains: None,
            organization: None,
        },
        "no domain asked for: none read, nor the organization"
    );
    let mail = domain_name("mail.eu.example.com")?;
    assert_eq!(
        r.job_inputs(&org, &none, Some(&mail)).await?,
        JobInputs {
            desired: None,
            status: None,
            organization: organization.clone(),
            domains: Some(
                ["eu.example.com", "example.com", "mail.eu.example.com"]
                    .into_iter()
                    .map(|n| listed.iter().find(|x| x.domain.as_str() == n).cloned())
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default()
            ),
        },
        "a user with no state: the domains still read"
    );
    assert_eq!(
        r.job_inputs(&fresh_org(), &ada, Some(&asked)).await?,
        JobInputs {
            domains: Some(Vec::new()),
            ..JobInputs::default()
        },
        "an organization not stored: no domains"
    );
    Ok(())
}
