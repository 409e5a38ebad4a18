//! Sending a plan: users first (so that groups can name them), then
//! managers of users created in this run, then groups. Requests run a few
//! at a time (`scim.concurrency`); one refused request is recorded against
//! its resource and the rest go on; a refused token stops everything.
//!
//! A run stopped at any point leaves the endpoint in a state the next run's
//! plan starts from: creates are found by `externalId` (never made twice),
//! and every other request sets a value rather than toggling one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use super::plan::{Change, Counts, Plan};
use crate::model::SourceUser;
use crate::scim::{CORE_GROUP, CORE_USER, CUSTOM, ENTERPRISE, ScimClient, ScimError};

/// Members added or removed by one group request.
const MEMBERS_PER_REQUEST: usize = 1000;
/// A progress line at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// One resource the endpoint refused, by `externalId` (never a name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub resource: &'static str,
    pub external_id: String,
    pub action: &'static str,
    pub error: String,
}

/// What was done.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub done: Counts,
    pub failures: Vec<Failure>,
}

/// Progress of a long apply, as log lines.
struct Progress {
    total: usize,
    done: Mutex<(usize, Instant)>,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            done: Mutex::new((0, Instant::now())),
        }
    }

    fn tick(&self) {
        if let Ok(mut d) = self.done.lock() {
            d.0 += 1;
            if d.1.elapsed() >= PROGRESS_EVERY {
                d.1 = Instant::now();
                tracing::info!(done = d.0, total = self.total, "sending changes");
            }
        }
    }
}

/// Sends `plan`; `ids` maps every held user's `externalId` to its SCIM id
/// and receives the ids of the users created.
pub async fn apply(
    client: &ScimClient,
    plan: &Plan,
    ids: &mut HashMap<String, String>,
    concurrency: usize,
) -> Result<Applied, ScimError> {
    let mut out = Applied::default();
    let total = plan.creates.len()
        + plan.updates.len()
        + plan.deactivations.len()
        + plan.group_creates.len()
        + plan.group_updates.len();
    let progress = Progress::new(total);
    let concurrency = concurrency.max(1);

    // 1. users to create, with their manager when it has an id already
    let known = ids.clone();
    let results: Vec<_> = futures::stream::iter(plan.creates.iter())
        .map(|c| {
            let manager = c
                .user
                .enterprise
                .manager
                .as_ref()
                .and_then(|m| known.get(m))
                .cloned();
            let progress = &progress;
            async move {
                let body = user_body(&c.user, manager.as_deref());
                let r = client.create_user(&c.user.external_id, &body).await;
                progress.tick();
                (c, r)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut link_managers = Vec::new();
    for (c, r) in results {
        match r {
            Ok(id) => {
                out.done.created += 1;
                ids.insert(c.user.external_id.clone(), id.clone());
                if let Some(m) = &c.user.enterprise.manager
                    && !known.contains_key(m)
                {
                    link_managers.push((id, c.user.external_id.clone(), m.clone()));
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => out.failures.push(Failure {
                resource: "user",
                external_id: c.user.external_id.clone(),
                action: "create",
                error: e.to_string(),
            }),
        }
    }

    // 2. users to change, deactivate, and managers to link
    let ids_now: &HashMap<String, String> = ids;
    let mut requests: Vec<(&'static str, String, String, Vec<Value>, Counts)> = Vec::new();
    for u in &plan.updates {
        let ops: Vec<Value> = u.changes.iter().map(|c| user_op(c, ids_now)).collect();
        let mut counts = Counts::default();
        for c in &u.changes {
            match c {
                Change::Active(false) => counts.deactivated = 1,
                Change::Active(true) => counts.reactivated = 1,
                _ => counts.updated = 1,
            }
        }
        requests.push(("update", u.external_id.clone(), u.id.clone(), ops, counts));
    }
    for d in &plan.deactivations {
        let ops = vec![json!({"op": "replace", "path": "active", "value": false})];
        let counts = Counts {
            deactivated: 1,
            ..Counts::default()
        };
        requests.push((
            "deactivate",
            d.external_id.clone(),
            d.id.clone(),
            ops,
            counts,
        ));
    }
    for (id, external_id, manager) in link_managers {
        if let Some(mid) = ids_now.get(&manager) {
            let ops = vec![
                json!({"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": mid}}),
            ];
            requests.push(("manager", external_id, id, ops, Counts::default()));
        }
    }
    let results: Vec<_> = futures::stream::iter(requests)
        .map(|(action, external_id, id, ops, counts)| {
            let progress = &progress;
            async move {
                let r = client.patch("Users", &id, ops).await;
                if action != "manager" {
                    progress.tick();
                }
                (action, external_id, counts, r)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (action, external_id, counts, r) in results {
        match r {
            Ok(()) => add(&mut out.done, &counts),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => out.failures.push(Failure {
                resource: "user",
                external_id,
                action,
                error: e.to_string(),
            }),
        }
    }

    // 3. groups, one at a time (a group's requests must not race each other)
    for g in &plan.group_creates {
        let members: Vec<&String> = g.members.iter().filter_map(|m| ids.get(m)).collect();
        let mut chunks = members.chunks(MEMBERS_PER_REQUEST);
        let first: Vec<Value> = chunks
            .next()
            .unwrap_or_default()
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let body = json!({
            "schemas": [CORE_GROUP],
            "externalId": g.external_id,
            "displayName": g.name,
            "members": first,
        });
        let result = async {
            let id = client.create_group(&g.external_id, &body).await?;
            for chunk in chunks {
                let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                client
                    .patch(
                        "Groups",
                        &id,
                        vec![json!({"op": "add", "path": "members", "value": value})],
                    )
                    .await?;
            }
            Ok::<_, ScimError>(())
        }
        .await;
        progress.tick();
        match result {
            Ok(()) => {
                out.done.groups_created += 1;
                out.done.members_added += members.len();
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => out.failures.push(Failure {
                resource: "group",
                external_id: g.external_id.clone(),
                action: "create",
                error: e.to_string(),
            }),
        }
    }
    for g in &plan.group_updates {
        let add: Vec<&String> = g.add.iter().filter_map(|m| ids.get(m)).collect();
        let result = async {
            let mut first = true;
            let mut adds = add.chunks(MEMBERS_PER_REQUEST);
            let mut removes = g.remove.chunks(MEMBERS_PER_REQUEST);
            loop {
                let mut ops = Vec::new();
                if first && let Some(name) = &g.rename {
                    ops.push(json!({"op": "replace", "path": "displayName", "value": name}));
                }
                first = false;
                if let Some(chunk) = removes.next() {
                    let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                    ops.push(json!({"op": "remove", "path": "members", "value": value}));
                }
                if let Some(chunk) = adds.next() {
                    let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
                    ops.push(json!({"op": "add", "path": "members", "value": value}));
                }
                if ops.is_empty() {
                    return Ok::<_, ScimError>(());
                }
                client.patch("Groups", &g.id, ops).await?;
            }
        }
        .await;
        progress.tick();
        match result {
            Ok(()) => {
                out.done.groups_renamed += usize::from(g.rename.is_some());
                out.done.members_added += add.len();
                out.done.members_removed += g.remove.len();
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => out.failures.push(Failure {
                resource: "group",
                external_id: g.external_id.clone(),
                action: "update",
                error: e.to_string(),
            }),
        }
    }
    Ok(out)
}

fn add(total: &mut Counts, c: &Counts) {
    total.updated += c.updated;
    total.deactivated += c.deactivated;
    total.reactivated += c.reactivated;
}

fn multi(values: &[String], kind: &str) -> Vec<Value> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if i == 0 {
                json!({"value": v, "type": kind, "primary": true})
            } else {
                json!({"value": v, "type": "other"})
            }
        })
        .collect()
}

/// The body that creates `u`.
pub fn user_body(u: &SourceUser, manager_id: Option<&str>) -> Value {
    let mut body = json!({
        "schemas": [CORE_USER, ENTERPRISE, CUSTOM],
        "externalId": u.external_id,
        "userName": u.user_name,
        "active": u.active,
    });
    let mut name = serde_json::Map::new();
    if let Some(g) = &u.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &u.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        body["name"] = Value::Object(name);
    }
    if let Some(d) = &u.display_name {
        body["displayName"] = json!(d);
    }
    if !u.emails.is_empty() {
        body["emails"] = Value::Array(multi(&u.emails, "work"));
    }
    if !u.phone_numbers.is_empty() {
        body["phoneNumbers"] = Value::Array(multi(&u.phone_numbers, "work"));
    }
    let e = &u.enterprise;
    let mut ent = serde_json::Map::new();
    for (k, v) in [
        ("employeeNumber", &e.employee_number),
        ("department", &e.department),
        ("costCenter", &e.cost_center),
        ("division", &e.division),
    ] {
        if let Some(v) = v {
            ent.insert(k.into(), json!(v));
        }
    }
    if let Some(m) = manager_id {
        ent.insert("manager".into(), json!({"value": m}));
    }
    if !ent.is_empty() {
        body[ENTERPRISE] = Value::Object(ent);
    }
    if !u.custom.is_empty() {
        body[CUSTOM] = json!(u.custom);
    }
    body
}

fn set_or_remove(path: String, value: Option<Value>) -> Value {
    match value {
        Some(v) => json!({"op": "replace", "path": path, "value": v}),
        None => json!({"op": "remove", "path": path}),
    }
}

/// The PATCH operation of one change; `ids` resolves a manager's
/// `externalId` (a manager without a SCIM id is removed, and set by the run
/// that creates it).
pub fn user_op(c: &Change, ids: &HashMap<String, String>) -> Value {
    let ent = |a: &str| format!("{ENTERPRISE}:{a}");
    let text = |v: &Option<String>| v.as_ref().map(|s| json!(s));
    let list = |v: &[String], kind: &str| (!v.is_empty()).then(|| Value::Array(multi(v, kind)));
    match c {
        Change::UserName(v) => json!({"op": "replace", "path": "userName", "value": v}),
        Change::Active(v) => json!({"op": "replace", "path": "active", "value": v}),
        Change::GivenName(v) => set_or_remove("name.givenName".into(), text(v)),
        Change::FamilyName(v) => set_or_remove("name.familyName".into(), text(v)),
        Change::DisplayName(v) => set_or_remove("displayName".into(), text(v)),
        Change::Emails(v) => set_or_remove("emails".into(), list(v, "work")),
        Change::PhoneNumbers(v) => set_or_remove("phoneNumbers".into(), list(v, "work")),
        Change::EmployeeNumber(v) => set_or_remove(ent("employeeNumber"), text(v)),
        Change::Department(v) => set_or_remove(ent("department"), text(v)),
        Change::CostCenter(v) => set_or_remove(ent("costCenter"), text(v)),
        Change::Division(v) => set_or_remove(ent("division"), text(v)),
        Change::Manager(m) => set_or_remove(
            ent("manager"),
            m.as_ref()
                .and_then(|m| ids.get(m))
                .map(|id| json!({"value": id})),
        ),
        Change::Custom(name, v) => set_or_remove(format!("{CUSTOM}:{name}"), text(v)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Enterprise;
    use std::collections::BTreeMap;

    #[test]
    fn a_create_body_carries_every_mapped_attribute() {
        let u = SourceUser {
            external_id: "x1".into(),
            dn: "CN=a".into(),
            user_name: "ada@example.com".into(),
            active: true,
            given_name: Some("Ada".into()),
            family_name: None,
            display_name: None,
            emails: vec!["ada@example.com".into(), "a@example.org".into()],
            phone_numbers: vec![],
            enterprise: Enterprise {
                department: Some("R&D".into()),
                ..Enterprise::default()
            },
            custom: BTreeMap::from([("badgeNumber".to_owned(), "B7".to_owned())]),
        };
        let b = user_body(&u, Some("m1"));
        assert_eq!(b["externalId"], "x1");
        assert_eq!(b["name"], json!({"givenName": "Ada"}));
        assert_eq!(b["emails"][0]["primary"], true);
        assert_eq!(b["emails"][1]["value"], "a@example.org");
        assert_eq!(b[ENTERPRISE]["department"], "R&D");
        assert_eq!(b[ENTERPRISE]["manager"]["value"], "m1");
        assert_eq!(b[CUSTOM]["badgeNumber"], "B7");
        assert!(b.get("phoneNumbers").is_none());
    }

    #[test]
    fn changes_become_set_or_remove_operations() {
        let ids = HashMap::from([("m".to_owned(), "id-m".to_owned())]);
        assert_eq!(
            user_op(&Change::Manager(Some("m".into())), &ids),
            json!({"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "id-m"}})
        );
        assert_eq!(
            user_op(&Change::Manager(Some("unknown".into())), &ids),
            json!({"op": "remove", "path": format!("{ENTERPRISE}:manager")})
        );
        assert_eq!(
            user_op(&Change::Custom("badgeNumber".into(), None), &ids),
            json!({"op": "remove", "path": format!("{CUSTOM}:badgeNumber")})
        );
        assert_eq!(
            user_op(&Change::Emails(vec![]), &ids),
            json!({"op": "remove", "path": "emails"})
        );
    }
}
