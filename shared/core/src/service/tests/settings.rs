//! Settings: the catalogue may not drop what rules name, each setting's
//! version, invalid values, the activity entries, ops' writes.

use super::*;
use crate::activity::{Action, RetentionError};
use crate::catalog::{Catalog, CatalogEntry};
use crate::service::rules::RuleInput;
use crate::service::settings::{By, Invalid, SettingsError};

/// A catalogue of these user groups.
fn catalogue(groups: &[&str]) -> Catalog {
    Catalog {
        user_groups: groups
            .iter()
            .map(|id| CatalogEntry {
                id: (*id).to_owned(),
                name: format!("Group {id}"),
            })
            .collect(),
        ..Catalog::default()
    }
}

fn any() -> Result<Option<u64>, SettingsError> {
    Ok(None)
}

fn at(v: u64) -> impl FnOnce() -> Result<Option<u64>, SettingsError> {
    move || Ok(Some(v))
}

const ALICE: By<'static> = By::Admin("Alice");

#[tokio::test]
async fn a_catalogue_that_drops_what_a_rule_names_is_refused_naming_the_rule() {
    let w = World::new().await;
    w.group("sales", 1).await;
    let s = w.settings();
    s.replace_catalog(&w.org, By::Ops, catalogue(&["emea"]), any)
        .await
        .unwrap();
    let rule = w
        .rules()
        .create(
            &w.org,
            "Alice",
            RuleInput {
                group_id: "sales".into(),
                products: ["G2M".to_owned()].into(),
                user_group: Some("emea".into()),
                ..RuleInput::default()
            },
            false,
        )
        .await
        .unwrap();
    for by in [ALICE, By::Ops] {
        let refused = s
            .replace_catalog(&w.org, by, catalogue(&["support"]), any)
            .await
            .unwrap_err();
        let SettingsError::CatalogInUse { rules } = &refused else {
            panic!("{refused:?}");
        };
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].rule, rule.rule.id);
        assert_eq!(rules[0].lost.field, "userGroup");
        assert_eq!(
            refused.to_string(),
            format!(
                "the catalogue would drop what rules name: rule {} (userGroup: {}); change those rules first",
                rule.rule.id, rules[0].lost.reason
            )
        );
    }
    let org = s.get(&w.org).await.unwrap();
    assert_eq!(org.catalog, Some(catalogue(&["emea"])));
    assert_eq!(org.setting_versions.get(Setting::Catalog), 1);
    // only the first catalogue was recorded
    let changes = w.entries().await;
    assert_eq!(
        changes
            .iter()
            .filter(|e| e.action == Action::CatalogChanged)
            .count(),
        1
    );

    // a catalogue keeping what the rule names is taken, and recorded
    let org = s
        .replace_catalog(&w.org, ALICE, catalogue(&["emea", "support"]), at(1))
        .await
        .unwrap();
    assert_eq!(org.setting_versions.get(Setting::Catalog), 2);
    let entries = w.entries().await;
    let last = entries.last().unwrap();
    assert_eq!(
        (last.action, last.actor.as_str(), &last.details),
        (
            Action::CatalogChanged,
            "Alice",
            &serde_json::json!({
                "privileges": 0, "userGroups": 2, "deviceGroups": 0, "settingsTemplates": 0
            })
        )
    );
}

#[tokio::test]
async fn a_catalogue_naming_products_is_refused() {
    let w = World::new().await;
    let with_products: Catalog =
        serde_json::from_str(r#"{"products": [{"id": "G2M", "name": "GoTo Meeting"}]}"#).unwrap();
    assert!(matches!(
        w.settings().replace_catalog(&w.org, By::Ops, with_products, any).await,
        Err(SettingsError::Invalid(Invalid::Catalog(e))) if e.field == "products"
    ));
}

#[tokio::test]
async fn a_stale_version_is_refused_before_the_rules_are_read_and_nothing_changes() {
    let w = World::new().await;
    let s = w.settings();
    s.replace_catalog(&w.org, ALICE, catalogue(&["sales"]), at(0))
        .await
        .unwrap();
    assert!(matches!(
        s.replace_catalog(&w.org, ALICE, catalogue(&["support"]), at(0))
            .await,
        Err(SettingsError::Stale("the catalogue"))
    ));
    assert!(matches!(
        s.replace_custom_attributes(&w.org, ALICE, &["badge".into()], at(3))
            .await,
        Err(SettingsError::Stale("the list of custom attributes"))
    ));
    assert!(matches!(
        s.set_retention(&w.org, ALICE, Some(120), at(3)).await,
        Err(SettingsError::Stale("the activity retention"))
    ));
    let org = s.get(&w.org).await.unwrap();
    assert_eq!(org.catalog, Some(catalogue(&["sales"])));
    assert!(org.custom_attributes.is_empty());
    assert_eq!(org.activity_retention_days, None);
    assert_eq!(w.entries().await.len(), 1);
}

#[tokio::test]
async fn an_invalid_value_is_refused_before_the_version_is_asked_for() {
    let w = World::new().await;
    let s = w.settings();
    let unasked = || -> Result<Option<u64>, SettingsError> { panic!("the version was asked for") };
    let twice = catalogue(&["sales", "sales"]);
    assert!(matches!(
        s.replace_catalog(&w.org, ALICE, twice, unasked).await,
        Err(SettingsError::Invalid(Invalid::Catalog(e))) if e.field == "userGroups"
    ));
    assert!(matches!(
        s.replace_custom_attributes(&w.org, ALICE, &["cost-center".into()], unasked)
            .await,
        Err(SettingsError::Invalid(Invalid::CustomAttributes(_)))
    ));
    assert!(matches!(
        s.set_retention(&w.org, ALICE, Some(30), unasked).await,
        Err(SettingsError::Invalid(Invalid::Retention(
            RetentionError::BelowAdminFloor
        )))
    ));
    for percent in [0, 101] {
        assert!(matches!(
            s.set_guardrail(&w.org, percent).await,
            Err(SettingsError::Invalid(Invalid::Guardrail))
        ));
    }
    assert!(w.entries().await.is_empty());
}

#[tokio::test]
async fn custom_attributes_are_trimmed_and_recorded_only_when_they_change() {
    let w = World::new().await;
    let s = w.settings();
    let org = s
        .replace_custom_attributes(&w.org, ALICE, &[" badge ".into()], at(0))
        .await
        .unwrap();
    assert_eq!(org.custom_attributes, vec!["badge".to_owned()]);
    assert_eq!(org.setting_versions.get(Setting::CustomAttributes), 1);
    let same = s
        .replace_custom_attributes(&w.org, ALICE, &["badge".into()], at(1))
        .await
        .unwrap();
    assert_eq!(same.setting_versions.get(Setting::CustomAttributes), 1);
    let entries = w.entries().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, Action::CustomAttributesChanged);
    assert_eq!(
        entries[0].details,
        serde_json::json!({"attributes": ["badge"], "previous": []})
    );
}

#[tokio::test]
async fn ops_set_a_shorter_retention_and_the_guardrail_unconditioned() {
    let w = World::new().await;
    let s = w.settings();
    let org = s
        .set_retention(&w.org, By::Ops, Some(7), any)
        .await
        .unwrap();
    assert_eq!(org.activity_retention_days, Some(7));
    assert_eq!(org.setting_versions.get(Setting::ActivityRetention), 1);
    // an admin holding the version read before is now stale
    assert!(matches!(
        s.set_retention(&w.org, ALICE, Some(90), at(0)).await,
        Err(SettingsError::Stale(_))
    ));
    let org = s
        .set_retention(&w.org, ALICE, Some(90), at(1))
        .await
        .unwrap();
    assert_eq!(org.activity_retention_days, Some(90));
    let entry = w.entries().await.pop().unwrap();
    assert_eq!(
        (entry.action, &entry.details),
        (
            Action::RetentionChanged,
            &serde_json::json!({"retentionDays": 90})
        )
    );
    let org = s.set_guardrail(&w.org, 25).await.unwrap();
    assert_eq!(org.suspension_guardrail_percent, 25);
    let nobody = OrgId::parse("nobody").unwrap();
    assert!(matches!(
        s.set_guardrail(&nobody, 25).await,
        Err(SettingsError::NotFound)
    ));
    assert!(matches!(
        s.replace_catalog(&nobody, By::Ops, catalogue(&["sales"]), any)
            .await,
        Err(SettingsError::NotFound)
    ));
}

#[tokio::test]
async fn without_a_history_nothing_is_recorded() {
    let w = World::new().await;
    let s = SettingsService {
        history: None,
        ..w.settings()
    };
    s.replace_catalog(&w.org, By::Ops, catalogue(&["sales"]), any)
        .await
        .unwrap();
    assert!(w.entries().await.is_empty());
}

use crate::organization::Setting;

#[tokio::test]
async fn the_drift_check_is_daily_until_set_and_each_change_is_recorded() {
    use crate::drift::DriftSchedule;
    let w = World::new().await;
    let s = w.settings();
    let before = w.store.get_org(&w.org).await.unwrap().unwrap();
    assert_eq!(before.drift_check, DriftSchedule::Daily);
    let org = s
        .set_drift_check(&w.org, ALICE, DriftSchedule::Hourly, Some(0))
        .await
        .unwrap();
    assert_eq!(org.drift_check, DriftSchedule::Hourly);
    assert_eq!(org.setting_versions.get(Setting::DriftCheck), 1);
    assert!(matches!(
        s.set_drift_check(&w.org, ALICE, DriftSchedule::Off, Some(0))
            .await,
        Err(SettingsError::Stale(_))
    ));
    let org = s
        .set_drift_check(&w.org, By::Ops, DriftSchedule::Off, None)
        .await
        .unwrap();
    assert_eq!(org.drift_check, DriftSchedule::Off);
    let entry = w.entries().await.pop().unwrap();
    assert_eq!(entry.action, Action::DriftCheckChanged);
    assert_eq!(entry.actor, "ops");
    assert_eq!(
        entry.details,
        serde_json::json!({"driftCheck": "off", "previous": "hourly"})
    );
}
