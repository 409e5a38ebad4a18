use super::*;
use serde_json::json;

/// An active user named `name`, with no attributes but `email`.
fn stored(id: &str, name: &str, email: Option<&str>) -> StoredUser {
    StoredUser {
        user: user_sync_core::directory::DirectoryUser {
            id: UserId::parse(id).unwrap(),
            user_name: name.into(),
            external_id: None,
            active: true,
            deleted: false,
            given_name: None,
            family_name: None,
            email: email.map(str::to_owned),
            locale: None,
            created: String::new(),
            last_modified: String::new(),
            version: 1,
            link: Default::default(),
        },
        attributes: Value::Null,
    }
}

#[test]
fn failure_cursors_round_trip() {
    for c in [
        FailureCursor {
            product: Some("G2W #1 %".into()),
            after: Some(UserId::parse("u-1").unwrap()),
        },
        FailureCursor {
            product: None,
            after: Some(UserId::parse("u_2").unwrap()),
        },
        FailureCursor {
            product: Some("G2M".into()),
            after: None,
        },
    ] {
        assert_eq!(FailureCursor::parse(&c.encode()), Some(c));
    }
    for bad in ["", "u-1", "zz.u-1", "4.u-1", "47.u#1"] {
        assert_eq!(FailureCursor::parse(bad), None, "{bad}");
    }
}

#[test]
fn custom_values_prefer_the_custom_extension_then_the_enterprise_one() {
    let attributes = json!({
        "userName": "ada@example.com",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701", "costCenter": "CC-9", "manager": {"value": "m"}
        },
        "urn:ietf:params:scim:schemas:extension:usersync:2.0:User": {
            "badgeNumber": "B7", "costcenter": "CC-1"
        }
    });
    let names: Vec<String> = [
        "badgeNumber",
        "costCenter",
        "employeeNumber",
        "manager",
        "division",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let v = Value::Object(custom_values(&attributes, &names));
    assert_eq!(
        v,
        json!({"badgeNumber": "B7", "costCenter": "CC-1", "employeeNumber": "701",
               "manager": null, "division": null})
    );
}

#[test]
fn a_filter_searches_user_names_and_emails_ignoring_case() {
    let user = |name: &str, email: Option<&str>| stored("u", name, email);
    let f = Filter {
        search: Some("ada".into()),
        status: None,
    };
    assert!(f.matches_text(&user("ADA.L@example.com", None)));
    assert!(f.matches_text(&user("al", Some("Ada@Example.com"))));
    assert!(!f.matches_text(&user("grace", Some("grace@example.com"))));
    assert!(Filter::default().matches_text(&user("grace", None)));
}

#[test]
fn a_user_no_rule_matches_is_no_rule_without_an_account_and_suspended_with_one() {
    use user_sync_core::rules::effective_assignment;
    let user = stored("u-dan", "dan@example.com", Some("dan@example.com"));
    let facts = user.user.facts();
    // no rule matches: the assignment is suspended
    let assignment = effective_assignment(facts.status, &Default::default(), &[]);
    let desired = |generation| DesiredState {
        generation,
        facts: facts.clone(),
        assignment: assignment.clone(),
        language: None,
        updated_at: "2026-12-01T00:00:00.000Z".into(),
        cause: None,
    };
    let applied = |generation| SyncStatus {
        applied_generation: generation,
        last_outcome: Outcome::Success,
        failure: None,
        attempts: 1,
        at: "2026-12-01T00:00:01.000Z".into(),
        dead_lettered: false,
        retried_at: None,
        failure_entry: None,
    };
    // never entitled: no account, never in sync
    let never = item(&user, Some(&desired(0)), None, None);
    assert_eq!(never.sync_status, UserSyncStatus::NoRule);
    assert_eq!(
        serde_json::to_value(never.sync_status).unwrap(),
        json!("no_rule")
    );
    // deactivated in the directory before any rule entitled them: inactive,
    // no account
    let mut left = desired(0);
    left.assignment = effective_assignment(DirectoryStatus::Inactive, &Default::default(), &[]);
    let left = item(&user, Some(&left), None, None);
    assert_eq!(left.sync_status, UserSyncStatus::Inactive);
    assert_eq!(
        serde_json::to_value(left.sync_status).unwrap(),
        json!("inactive")
    );
    // entitled once: the account is suspended once the suspension is applied
    let had = item(&user, Some(&desired(2)), Some(&applied(1)), None);
    assert_eq!(had.sync_status, UserSyncStatus::Pending);
    let had = item(&user, Some(&desired(2)), Some(&applied(2)), None);
    assert_eq!(had.sync_status, UserSyncStatus::Suspended);
    assert_eq!(
        serde_json::to_value(had.sync_status).unwrap(),
        json!("suspended")
    );
    // the listing's filter keeps them by these statuses
    for (wanted, query) in [
        (UserSyncStatus::NoRule, "no_rule"),
        (UserSyncStatus::Inactive, "inactive"),
        (UserSyncStatus::Suspended, "suspended"),
    ] {
        let parsed: UserSyncStatus = serde_json::from_value(json!(query)).unwrap();
        assert_eq!(parsed, wanted);
    }
}
