use super::*;
use serde_json::json;

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
    let user = |name: &str, email: Option<&str>| StoredUser {
        user: user_sync_core::directory::DirectoryUser {
            id: UserId::parse("u").unwrap(),
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
    };
    let f = Filter {
        search: Some("ada".into()),
        status: None,
    };
    assert!(f.matches_text(&user("ADA.L@example.com", None)));
    assert!(f.matches_text(&user("al", Some("Ada@Example.com"))));
    assert!(!f.matches_text(&user("grace", Some("grace@example.com"))));
    assert!(Filter::default().matches_text(&user("grace", None)));
}
