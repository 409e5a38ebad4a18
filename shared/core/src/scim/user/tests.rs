use super::*;

#[test]
fn sub_attributes_the_schema_lacks_are_not_stored() {
    let u = parse_user(&json!({
        "userName": "a@example.com",
        "name": {"givenName": "Ada", "foo": 1},
        "emails": [{"value": "a@example.com", "primary": true, "bogus": "x"}],
        ENTERPRISE_USER_SCHEMA: {"department": "D", "manager": {"value": "m1", "evil": true, "displayName": "Not Theirs"}}
    }))
    .unwrap();
    assert_eq!(u.attributes["name"], json!({"givenName": "Ada"}));
    assert_eq!(
        u.attributes["emails"],
        json!([{"value": "a@example.com", "primary": true}])
    );
    assert_eq!(
        u.attributes[ENTERPRISE_USER_SCHEMA],
        json!({"department": "D", "manager": {"value": "m1"}})
    );
}

#[test]
fn a_password_is_accepted_and_discarded() {
    let mut body = json!({"userName": "a@example.com", "password": "S3cret!", "PassWord": "x"});
    let u = parse_user(&body).unwrap();
    assert_eq!(u.attributes, json!({"userName": "a@example.com"}));
    assert!(strip_never_returned(&mut body));
    assert!(!strip_never_returned(&mut body));
    assert_eq!(body, json!({"userName": "a@example.com"}));
    // an item an earlier version stored with one is rendered without it
    let user = DirectoryUser {
        id: crate::ids::UserId::parse("u1").unwrap(),
        user_name: "a@example.com".into(),
        external_id: None,
        active: true,
        deleted: false,
        given_name: None,
        family_name: None,
        email: None,
        locale: None,
        created: String::new(),
        last_modified: String::new(),
        version: 1,
        link: Default::default(),
    };
    let r = render_user(&user, &json!({"password": "S3cret!"}), "");
    assert!(r.get("password").is_none(), "{r}");
}

#[test]
fn user_names_are_kept_in_one_normal_form() {
    let canon = |s: &str| canonical_user_name(s).unwrap();
    let key = |s: &str| canon(s).to_lowercase();
    // composed and decomposed, padded, non-breaking spaces, fullwidth @
    assert_eq!(
        canon("  Ren\u{e9}e@example.com\u{a0}"),
        "Ren\u{e9}e@example.com"
    );
    assert_eq!(canon("Rene\u{301}e@example.com"), "Ren\u{e9}e@example.com");
    assert_eq!(canon("renee\u{ff20}example.com"), "renee@example.com");
    // the Kelvin sign is a K, so it is kate's name, not a second one
    assert_eq!(key("\u{212a}ate@example.com"), key("kate@example.com"));
    // look-alikes from another script stay distinct (Cyrillic а)
    assert_ne!(key("\u{430}da@example.com"), key("ada@example.com"));
    for bad in [
        "ada\u{200b}@example.com",
        "\u{202e}moc.elpmaxe@ada",
        "\u{feff}ada@example.com",
        "ada\u{a0}lovelace@example.com",
        "a\tb",
        "   ",
    ] {
        let e = canonical_user_name(bad).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"), "{bad:?}");
    }
    // the limit counts characters, not bytes
    assert!(canonical_user_name(&"é".repeat(1024)).is_ok());
    assert!(canonical_user_name(&"é".repeat(1025)).is_err());
    // and a parsed user keeps the canonical form
    let u = parse_user(&json!({"userName": " Rene\u{301}e@example.com "})).unwrap();
    assert_eq!(u.user_name, "Ren\u{e9}e@example.com");
    assert_eq!(u.attributes["userName"], "Ren\u{e9}e@example.com");
}

#[test]
fn what_the_schemas_do_not_serve_is_dropped_and_types_are_enforced() {
    let u = parse_user(&json!({
        "schemas": [USER_SCHEMA],
        "userName": "a@example.com",
        "favouriteColour": {"deep": [[["junk"]]]},
        "urn:example:other": {"x": 1},
        "x509Certificates": [{"value": "MII..."}],
        "title": "Engineer",
        ENTERPRISE_USER_SCHEMA: {"department": "D", "shoeSize": 44, "manager": "boss"}
    }))
    .unwrap();
    assert_eq!(
        u.attributes,
        json!({"userName": "a@example.com", "title": "Engineer",
               ENTERPRISE_USER_SCHEMA: {"department": "D", "manager": {"value": "boss"}}})
    );
    for (body, field) in [
        (json!({"userName": "a", "title": 5}), "title"),
        (
            json!({"userName": "a", "emails": {"value": "a@x"}}),
            "emails",
        ),
        (json!({"userName": "a", "roles": ["admin"]}), "roles"),
        (
            json!({"userName": "a", "phoneNumbers": [{"value": 5}]}),
            "phoneNumbers.value",
        ),
        (
            json!({"userName": "a", "emails": [{"value": "a@x", "primary": "yes"}]}),
            "emails.primary",
        ),
        (
            json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"department": []}}),
            "department",
        ),
    ] {
        let e = parse_user(&body).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"), "{body}");
        assert!(e.detail.contains(field), "{field}: {}", e.detail);
    }
    // bounded: values per attribute, and the whole user
    let many: Vec<Value> = (0..=MAX_MULTI_VALUES)
        .map(|i| json!({"value": format!("r{i}")}))
        .collect();
    assert!(parse_user(&json!({"userName": "a", "roles": many})).is_err());
    let big: Vec<Value> = (0..MAX_MULTI_VALUES)
        .map(|_| json!({"value": "x".repeat(1_000)}))
        .collect();
    let e = parse_user(&json!({"userName": "a", "roles": big})).unwrap_err();
    assert!(e.detail.contains("larger than"), "{}", e.detail);
}

#[test]
fn okta_create_parses() {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": "ada@example.com", "type": "work"}],
        "active": true,
        "locale": "en-US",
        "externalId": "00u1",
        "id": "client-chosen", "meta": {"x": 1}
    });
    let u = parse_user(&body).unwrap();
    assert_eq!(u.user_name, "ada@example.com");
    assert_eq!(u.given_name.as_deref(), Some("Ada"));
    assert_eq!(u.email.as_deref(), Some("ada@example.com"));
    assert!(u.active);
    assert!(u.attributes.get("id").is_none());
    assert!(u.attributes.get("meta").is_none());
}

#[test]
fn entra_string_booleans_are_accepted_and_normalized() {
    let u = parse_user(&json!({"userName": "a", "active": "False"})).unwrap();
    assert!(!u.active);
    assert_eq!(u.attributes["active"], json!(false));
    assert!(parse_user(&json!({"userName": "a", "active": "maybe"})).is_err());
}

#[test]
fn name_must_be_an_object() {
    for name in [json!("Ada"), json!(["Ada"]), json!(5)] {
        let e = parse_user(&json!({"userName": "a@example.com", "name": name})).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"), "{name}");
    }
    assert!(parse_user(&json!({"userName": "a@example.com", "name": null})).is_ok());
}

#[test]
fn user_name_is_required_and_bounded() {
    assert_eq!(
        parse_user(&json!({})).unwrap_err().scim_type,
        Some("invalidValue")
    );
    assert!(parse_user(&json!({"userName": ""})).is_err());
    assert!(parse_user(&json!({"userName": "x".repeat(2000)})).is_err());
    assert!(parse_user(&json!({"userName": "a\r\nb"})).is_err());
    assert!(parse_user(&json!([1])).is_err());
}

#[test]
fn work_email_is_chosen_without_primary() {
    let u = parse_user(&json!({"userName": "a", "emails": [
        {"value": "home@x", "type": "home"}, {"value": "work@x", "type": "work"}]}))
    .unwrap();
    assert_eq!(u.email.as_deref(), Some("work@x"));
}
