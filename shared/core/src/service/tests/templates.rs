//! Templates: the default is read only, the limit, versions, rules using
//! one, the preview.

use std::collections::BTreeMap;

use super::*;
use crate::ids::TemplateId;
use crate::mail::Variant;
use crate::ports::{MAX_TEMPLATES, StoredTemplate, Templates};
use crate::service::rules::RuleInput;
use crate::service::templates::{PreviewRequest, TemplateError, TemplateInput};

fn welcome(name: &str) -> TemplateInput {
    TemplateInput {
        name: name.to_owned(),
        variants: BTreeMap::from([(
            "en".to_owned(),
            Variant {
                subject: "Welcome, {{firstName}}".into(),
                body: "Sign in at {{loginUrl}}".into(),
            },
        )]),
    }
}

#[tokio::test]
async fn a_template_is_created_replaced_and_deleted_at_its_versions() {
    let w = World::new().await;
    let t = w.template_service();
    let made = t.create(&w.org, "Alice", welcome("Welcome")).await.unwrap();
    assert_eq!((made.version, made.updated_by.as_str()), (1, "Alice"));
    let id = made.template.id.clone();
    let again = || Ok::<_, TemplateError>(welcome("Welcome 2"));
    let replaced = t.replace(&w.org, "Bob", &id, Some(1), again).await.unwrap();
    assert_eq!(
        (replaced.version, replaced.template.name.as_str()),
        (2, "Welcome 2")
    );
    assert!(matches!(
        t.replace(&w.org, "Bob", &id, Some(1), again).await,
        Err(TemplateError::PreconditionFailed)
    ));
    assert!(matches!(
        t.delete(&w.org, "Bob", &id, Some(1)).await,
        Err(TemplateError::PreconditionFailed)
    ));
    t.delete(&w.org, "Bob", &id, Some(2)).await.unwrap();
    assert!(matches!(
        t.get(&w.org, &id).await,
        Err(TemplateError::NotFound)
    ));
    assert_eq!(w.entries().await.len(), 3);
}

#[tokio::test]
async fn the_default_is_read_only_and_an_invalid_template_refused() {
    let w = World::new().await;
    let t = w.template_service();
    let default = TemplateId::parse("default").unwrap();
    assert!(t.get(&w.org, &default).await.unwrap().stored.is_none());
    assert!(matches!(
        t.delete(&w.org, "Alice", &default, None).await,
        Err(TemplateError::ReadOnly)
    ));
    assert!(matches!(
        t.create(&w.org, "Alice", welcome(" ")).await,
        Err(TemplateError::Invalid(m)) if m.starts_with("name")
    ));
}

#[tokio::test]
async fn an_organization_has_at_most_the_limit_of_templates() {
    let w = World::new().await;
    for n in 0..MAX_TEMPLATES {
        let template = crate::mail::EmailTemplate::parse(
            TemplateId::parse(&format!("t{n}")).unwrap(),
            "Welcome",
            welcome("x").variants,
        )
        .unwrap();
        let stored = StoredTemplate {
            template,
            version: 1,
            updated_at: String::new(),
            updated_by: String::new(),
        };
        w.store.create_template(&w.org, &stored).await.unwrap();
    }
    assert!(matches!(
        w.template_service()
            .create(&w.org, "Alice", welcome("One more"))
            .await,
        Err(TemplateError::Limit)
    ));
}

#[tokio::test]
async fn a_template_rules_use_stays() {
    let w = World::new().await;
    w.group("sales", 0).await;
    let t = w.template_service();
    let made = t.create(&w.org, "Alice", welcome("Welcome")).await.unwrap();
    let input = RuleInput {
        group_id: "sales".into(),
        description: "Sales".into(),
        email_template: Some(made.template.id.to_string()),
        ..RuleInput::default()
    };
    let rule = w
        .rules()
        .create(&w.org, "Alice", input, false)
        .await
        .unwrap();
    match t.delete(&w.org, "Alice", &made.template.id, None).await {
        Err(TemplateError::InUse(users)) => {
            assert_eq!(users, [format!("{} (\"Sales\")", rule.rule.id)]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_preview_renders_with_sample_values_or_a_users() {
    let w = World::new().await;
    w.group("sales", 1).await;
    let t = w.template_service();
    let made = t.create(&w.org, "Alice", welcome("Welcome")).await.unwrap();
    let id = &made.template.id;
    let sample = t
        .preview(&w.org, id, "https://login", || {
            Ok::<_, TemplateError>(PreviewRequest::default())
        })
        .await
        .unwrap();
    assert_eq!(sample.subject, "Welcome, Alex");
    let user = t
        .preview(&w.org, id, "https://login", || {
            Ok::<_, TemplateError>(PreviewRequest {
                language: None,
                user_id: Some("sales-0".into()),
            })
        })
        .await
        .unwrap();
    assert_eq!(user.subject, "Welcome, Member");
    for (request, expected) in [
        (
            PreviewRequest {
                language: Some("../x".into()),
                user_id: None,
            },
            "invalid",
        ),
        (
            PreviewRequest {
                language: None,
                user_id: Some("nobody".into()),
            },
            "user",
        ),
    ] {
        let got = t
            .preview(&w.org, id, "https://login", || {
                Ok::<_, TemplateError>(request)
            })
            .await;
        match (expected, got) {
            ("invalid", Err(TemplateError::Invalid(_)))
            | ("user", Err(TemplateError::UserNotFound)) => {}
            (_, other) => panic!("{expected}: {other:?}"),
        }
    }
}
