//! The contract of [`Templates`]: the limit and the versions.

use super::{Checked, fresh_org};
use std::collections::BTreeMap;

use crate::StoreError;
use crate::ids::TemplateId;
use crate::mail::{EmailTemplate, Variant};
use crate::ports::{MAX_TEMPLATES, StoredTemplate, Templates};

fn template(id: &str, name: &str, version: u64) -> StoredTemplate {
    let variants = BTreeMap::from([(
        "en".to_owned(),
        Variant {
            subject: "Welcome".into(),
            body: "Sign in at {{loginUrl}}".into(),
        },
    )]);
    let id = TemplateId::parse(id).unwrap_or_else(|e| panic!("{e}"));
    StoredTemplate {
        template: EmailTemplate::parse(id, name, variants).unwrap_or_else(|e| panic!("{e}")),
        version,
        updated_at: "2026-12-01T09:00:00.000Z".into(),
        updated_by: "Contract".into(),
    }
}

fn conflict(r: Result<(), StoreError>, what: &str) {
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{what}: {r:?}");
}

/// Creates, replaces and deletes templates of `org` (a fresh organization),
/// up to the limit.
pub async fn templates<S: Templates>(store: &S) -> Checked {
    let org = &fresh_org();
    let b = template("t-b", "Bravo", 1);
    let a = template("t-a", "Alpha", 1);
    assert!(store.create_template(org, &b).await.is_ok());
    assert!(store.create_template(org, &a).await.is_ok());
    conflict(
        store.create_template(org, &a).await,
        "create_template MUST return Conflict when the id exists",
    );
    let listed = store
        .list_templates(org)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed, [a.clone(), b.clone()], "listed by name");

    let a2 = template("t-a", "Alpha 2", 2);
    conflict(
        store.replace_template(org, &a2, 7).await,
        "replace_template MUST return Conflict unless the template has expected_version",
    );
    assert!(store.replace_template(org, &a2, 1).await.is_ok());
    assert_eq!(
        store.get_template(org, &a.template.id).await.ok(),
        Some(Some(a2.clone()))
    );
    conflict(
        store.delete_template(org, &a.template.id, 1).await,
        "delete_template MUST return Conflict unless the template has expected_version",
    );
    assert!(store.delete_template(org, &a.template.id, 2).await.is_ok());
    assert_eq!(
        store.get_template(org, &a.template.id).await.ok(),
        Some(None)
    );
    conflict(
        store.replace_template(org, &a2, 2).await,
        "replace_template MUST return Conflict when the template was deleted",
    );
    conflict(
        store.delete_template(org, &a.template.id, 2).await,
        "delete_template MUST return Conflict when the template was deleted",
    );

    // the limit: `b` and as many more as allowed, then no more
    for n in 1..MAX_TEMPLATES {
        let t = template(&format!("t-{n}"), &format!("T {n}"), 1);
        assert!(store.create_template(org, &t).await.is_ok(), "template {n}");
    }
    conflict(
        store
            .create_template(org, &template("t-over", "Over", 1))
            .await,
        "create_template MUST return Conflict when the organization has MAX_TEMPLATES",
    );
    Ok(())
}
