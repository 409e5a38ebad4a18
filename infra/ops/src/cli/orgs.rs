//! `ops org` and `ops token`: organizations and their tokens.

use serde::Serialize;
use serde_json::json;
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::StoreError;
use user_sync_core::auth::{Role, StoredToken, TokenKind};
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Organization, Organizations, Tokens};

use super::{
    Ctx, Failure, KindArg, Report, RoleArg, kind_name, missing_org, require_org, store_error,
};

pub(super) async fn org_create(ctx: &Ctx<'_>, org: &OrgId, name: &str) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let new = crate::create_organization(&store, org, name)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                Failure::Failed(format!("organization {org} exists already"))
            }
            other => store_error("create the organization", other),
        })?;
    Ok(Report::new(
        vec![
            format!("organization: {}", new.org_id),
            format!("SCIM token:   {}", new.scim_token),
            format!("admin token:  {}", new.admin_token),
        ],
        json!({
            "orgId": new.org_id,
            "name": name,
            "scimToken": new.scim_token,
            "adminToken": new.admin_token,
        }),
    )
    .note("The tokens are shown once; only their hashes are stored."))
}

/// One organization as `org list` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgRow {
    id: OrgId,
    name: String,
    created: String,
    default_language: String,
    custom_attributes: Vec<String>,
    suspension_guardrail_percent: u8,
    /// `None`: the stack's default.
    activity_retention_days: Option<u32>,
    /// Entries of the catalogue's lists (privileges, user groups, device
    /// groups, settings templates); `None`: no catalogue.
    catalog_entries: Option<usize>,
}

impl From<Organization> for OrgRow {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            created: o.created,
            default_language: o.default_language,
            custom_attributes: o.custom_attributes,
            suspension_guardrail_percent: o.suspension_guardrail_percent,
            activity_retention_days: o.activity_retention_days,
            catalog_entries: o.catalog.map(|c| {
                c.privileges.len()
                    + c.user_groups.len()
                    + c.device_groups.len()
                    + c.settings_templates.len()
            }),
        }
    }
}

/// Organizations per listing page.
const ORG_PAGE: usize = 100;

/// The organization given (it must exist), or every organization.
pub(super) async fn given_or_all(
    store: &DirectoryTable,
    org: Option<OrgId>,
) -> Result<Vec<OrgId>, Failure> {
    match org {
        Some(o) => {
            require_org(store, &o).await?;
            Ok(vec![o])
        }
        None => Ok(all_orgs(store).await?.into_iter().map(|o| o.id).collect()),
    }
}

/// Every organization, by id.
pub(super) async fn all_orgs(store: &DirectoryTable) -> Result<Vec<Organization>, Failure> {
    let mut orgs: Vec<Organization> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store
            .list_orgs(cursor.as_deref(), ORG_PAGE)
            .await
            .map_err(|e| store_error("list the organizations", e))?;
        orgs.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    orgs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(orgs)
}

pub(super) async fn org_list(ctx: &Ctx<'_>) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let rows: Vec<OrgRow> = all_orgs(&store)
        .await?
        .into_iter()
        .map(OrgRow::from)
        .collect();
    let table = columns(
        &["ID", "CREATED", "GUARDRAIL", "CUSTOM", "CATALOGUE", "NAME"],
        rows.iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.created.clone(),
                    format!("{} %", r.suspension_guardrail_percent),
                    r.custom_attributes.len().to_string(),
                    r.catalog_entries
                        .map_or_else(|| "-".to_owned(), |n| format!("{n} entries")),
                    r.name.clone(),
                ]
            })
            .collect(),
    );
    let count = rows.len();
    Ok(Report::new(table, json!({ "organizations": rows }))
        .note(format!("{count} organization(s)")))
}

/// Left-aligned columns, two spaces apart, the last one as it is.
pub(super) fn columns(header: &[&str], rows: Vec<Vec<String>>) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    let w = widths.get(i).copied().unwrap_or(0);
                    format!("{c:<w$}  ")
                }
            })
            .collect::<String>()
    };
    std::iter::once(render(header.iter().map(|h| (*h).to_owned()).collect()))
        .chain(rows.into_iter().map(render))
        .collect()
}

pub(super) async fn token_create(
    ctx: &Ctx<'_>,
    org: &OrgId,
    kind: KindArg,
    name: &str,
    role: Option<RoleArg>,
    expires_in: Option<time::Duration>,
) -> Result<Report, Failure> {
    let kind = match kind {
        KindArg::Admin => TokenKind::Admin,
        KindArg::Scim => TokenKind::Scim,
    };
    if kind == TokenKind::Scim && (role.is_some() || expires_in.is_some()) {
        return Err(Failure::Failed(
            "a SCIM token takes no --role or --expires-in; those are for admin API keys".into(),
        ));
    }
    let role = role.map_or(Role::Admin, Role::from);
    let store = ctx.directory()?;
    let (token_id, plain) = crate::create_key(&store, org, kind, name, role, expires_in)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("create the token", other),
        })?;
    Ok(Report::new(
        vec![
            format!("token id: {token_id}"),
            format!("token:    {plain}"),
        ],
        json!({
            "orgId": org,
            "tokenId": token_id,
            "kind": kind_name(kind),
            "role": (kind == TokenKind::Admin).then_some(role.name()),
            "name": name.trim(),
            "token": plain,
        }),
    )
    .note("The token is shown once; only its hash is stored."))
}

pub(super) async fn token_list(ctx: &Ctx<'_>, org: &OrgId) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    require_org(&store, org).await?;
    let mut tokens = store
        .list_tokens(org)
        .await
        .map_err(|e| store_error("list the tokens", e))?;
    tokens.sort_by(|a, b| a.created.cmp(&b.created));
    let text = columns(
        &[
            "TOKEN ID",
            "KIND",
            "ROLE",
            "CREATED",
            "EXPIRES",
            "LAST USED",
            "NAME",
        ],
        tokens
            .iter()
            .map(|t| {
                vec![
                    t.token_id.clone(),
                    kind_name(t.kind).to_owned(),
                    role_of(t).unwrap_or("-").to_owned(),
                    t.created.clone(),
                    t.expires_at.clone().unwrap_or_else(|| "never".into()),
                    t.last_used_at.clone().unwrap_or_else(|| "-".into()),
                    t.name.clone(),
                ]
            })
            .collect(),
    );
    let json = json!({
        "orgId": org,
        "tokens": tokens.iter().map(|t| json!({
            "tokenId": t.token_id,
            "kind": kind_name(t.kind),
            "role": role_of(t),
            "created": t.created,
            "expiresAt": t.expires_at,
            "lastUsedAt": t.last_used_at,
            "name": t.name,
        })).collect::<Vec<_>>(),
    });
    Ok(Report::new(text, json))
}

/// An admin key's role; SCIM tokens have none.
fn role_of(t: &StoredToken) -> Option<&'static str> {
    (t.kind == TokenKind::Admin).then_some(t.role.name())
}

pub(super) async fn token_revoke(
    ctx: &Ctx<'_>,
    org: &OrgId,
    token_id: &str,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    crate::revoke_token(&store, org, token_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                Failure::Failed(format!("organization {org} has no token {token_id}"))
            }
            other => store_error("revoke the token", other),
        })?;
    Ok(Report::new(
        vec![format!("token {token_id} of organization {org} is revoked")],
        json!({"orgId": org, "tokenId": token_id, "revoked": true}),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let lines = columns(
            &["ID", "NAME"],
            vec![vec!["acme".into(), "Acme Inc".into()]],
        );
        assert_eq!(lines, vec!["ID    NAME", "acme  Acme Inc"]);
    }
}
