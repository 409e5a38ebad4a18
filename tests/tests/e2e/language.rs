//! The account's language on the local stack: a rule's language, else the
//! directory's `preferredLanguage`, else the organization's default, as the
//! product account's `locale`, the welcome email's language and in explain.

use serde_json::{Value, json};
use user_sync_core::OrgId;
use user_sync_core::ports::Organizations;
use user_sync_tests::{Client, UserBuilder, directory, emails_to, eventually};

use crate::admin::{PIPELINE, TestOrg};

/// A user `name` whose directory `preferredLanguage` is `language`.
async fn user_speaking(org: &TestOrg, name: &str, language: Option<&str>) -> String {
    let email = org.email(name);
    let mut user = UserBuilder::person(&email, name, "Test");
    if let Some(language) = language {
        user = user.attr("preferredLanguage", json!(language));
    }
    org.scim().create_user(user).await
}

/// The subject of the one welcome email sent to the user `name`.
async fn welcome_subject(org: &TestOrg, name: &str) -> String {
    let c = Client::new();
    let to = org.email(name);
    let sent = eventually(&format!("{name}'s welcome email"), PIPELINE, || async {
        let sent = emails_to(&c, &to).await;
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    sent[0]["subject"].as_str().unwrap().to_owned()
}

async fn explained_language(org: &TestOrg, user: &str) -> Value {
    let e = org.admin().get(&format!("/users/{user}/assignment")).await;
    assert_eq!(e.status, 200, "{}", e.body);
    assert_eq!(e.body["language"], e.body["desired"]["language"]);
    e.body["language"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_language_else_the_directorys_else_the_organizations_is_the_accounts() {
    let a = TestOrg::new("lang").await;
    // an organization whose default language is Italian
    let store = directory().await;
    let org_id = OrgId::parse(&a.org_id).unwrap();
    let mut org = store.get_org(&org_id).await.unwrap().unwrap();
    org.default_language = "it".into();
    store.update_org(&org).await.unwrap();

    // Ada's rule sets German, over her directory's French; Bea's rule sets
    // no language and her directory says French; Cy has neither
    let ada = user_speaking(&a, "ada", Some("fr")).await;
    let bea = user_speaking(&a, "bea", Some("fr")).await;
    let cy = user_speaking(&a, "cy", None).await;
    let dach = a.scim().group_with("DACH", &[&ada]).await;
    let others = a.scim().group_with("Others", &[&bea, &cy]).await;
    let rule = a
        .admin()
        .rule(json!({"groupId": dach, "products": ["G2M"],
                     "adminRole": {"type": "full_admin"}, "language": "de"}))
        .await;
    a.admin()
        .rule(json!({"groupId": others, "products": ["G2M"]}))
        .await;
    assert_eq!(a.admin().sync(true, true).await.status, 200);

    for (user, name, locale, subject) in [
        (&ada, "ada", "de", "Willkommen bei Test Company"),
        (&bea, "bea", "fr", "Bienvenue chez Test Company"),
        (&cy, "cy", "it", "Ti diamo il benvenuto in Test Company"),
    ] {
        let account = a
            .until(user, &format!("{name}'s account"), |acc| {
                acc["status"] == "active"
            })
            .await;
        assert_eq!(account["locale"], locale, "{name}: {account}");
        assert_eq!(welcome_subject(&a, name).await, subject, "{name}");
    }

    // explain names the language and where it came from
    assert_eq!(
        explained_language(&a, &ada).await,
        json!({"language": "de", "from": "rule", "rule": rule["id"]})
    );
    assert_eq!(
        explained_language(&a, &bea).await,
        json!({"language": "fr", "from": "directory"})
    );
    assert_eq!(
        explained_language(&a, &cy).await,
        json!({"language": "it", "from": "organization"})
    );
}
