//! `ops catalog`, `ops custom-attributes`, `ops guardrail` and
//! `ops activity-retention`: an organization's settings.

use serde_json::json;
use user_sync_core::StoreError;
use user_sync_core::ids::OrgId;

use super::{Ctx, Failure, Report, missing_org, store_error};

pub(super) async fn catalog_set(ctx: &Ctx<'_>, org: &OrgId, file: &str) -> Result<Report, Failure> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| Failure::Usage(format!("cannot read {file}: {e}")))?;
    let source = if file == "-" { "stdin" } else { file };
    let catalog: user_sync_core::catalog::Catalog = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{source} does not hold a catalogue: {e}")))?;
    let counts = [
        ("privileges", catalog.privileges.len()),
        ("user groups", catalog.user_groups.len()),
        ("device groups", catalog.device_groups.len()),
        ("settings templates", catalog.settings_templates.len()),
    ];
    let summary = counts
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ");
    let store = ctx.directory()?;
    crate::set_catalog(&store, org, catalog)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            StoreError::Invalid(reason) => {
                Failure::Usage(format!("the catalogue is not valid: {reason}"))
            }
            // rules name what it drops
            StoreError::Conflict(reason) => {
                Failure::Failed(format!("organization {org}: {reason}"))
            }
            other => store_error("set the catalogue", other),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org}: catalogue replaced ({summary})"
        )],
        json!({
            "orgId": org,
            "catalog": {
                "privileges": counts[0].1,
                "userGroups": counts[1].1,
                "deviceGroups": counts[2].1,
                "settingsTemplates": counts[3].1,
            },
        }),
    ))
}

pub(super) async fn custom_attributes_set(
    ctx: &Ctx<'_>,
    org: &OrgId,
    names: &str,
) -> Result<Report, Failure> {
    let names: Vec<String> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let store = ctx.directory()?;
    crate::set_custom_attributes(&store, org, &names)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("set the custom attributes", other),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org} now captures {} custom attribute(s)",
            names.len()
        )],
        json!({"orgId": org, "customAttributes": names}),
    ))
}

pub(super) async fn guardrail_set(
    ctx: &Ctx<'_>,
    org: &OrgId,
    percent: u8,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    crate::set_guardrail(&store, org, percent)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("set the guardrail", other),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org}: changes that would suspend more than {percent} % of its users now need confirmation"
        )],
        json!({"orgId": org, "suspensionGuardrailPercent": percent}),
    ))
}

pub(super) async fn activity_retention_set(
    ctx: &Ctx<'_>,
    org: &OrgId,
    days: Option<u32>,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    crate::set_activity_retention(&store, org, days)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("set the activity retention", other),
        })?;
    let kept = match days {
        Some(d) => format!("{d} day(s)"),
        None => "the stack's default".to_owned(),
    };
    let mut report = Report::new(
        vec![format!(
            "organization {org}: activity entries written from now on are kept {kept}; \
             entries written before keep their expiry"
        )],
        json!({"orgId": org, "activityRetentionDays": days}),
    );
    if days.is_some_and(|d| d < user_sync_core::activity::MIN_ADMIN_RETENTION_DAYS) {
        report = report.note(format!(
            "below the {} days admins may set: its admins cannot change it without raising it",
            user_sync_core::activity::MIN_ADMIN_RETENTION_DAYS
        ));
    }
    Ok(report)
}
