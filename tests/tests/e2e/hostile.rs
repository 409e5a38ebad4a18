//! The hostile corpus (tests/hostile/*.jsonl, written by
//! tests/hostile/generate.py): every request is replayed against one seeded
//! organization; each answer must be the status the case names, in the
//! endpoint's error format (SCIM Error JSON or problem+json), never a 5xx;
//! and the organization's stored state must be what it was before.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_tests::stack;

use crate::admin::{TestOrg, id};

const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PROBLEM_PREFIX: &str = "urn:user-sync:problem:";
/// Requests in flight at once.
const PARALLEL: usize = 8;

/// Which API a corpus file calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Scim,
    Admin,
}

/// The seeded organization's ids, for the corpus' placeholders.
pub(crate) struct Seed {
    pub(crate) user: String,
    pub(crate) user2: String,
    pub(crate) group: String,
    pub(crate) rule: String,
    pub(crate) template: String,
}

/// The first seeded user's userName; the corpus' collision cases use it.
pub(crate) const U1: &str = "hostile.one@example.com";

/// A user, a second user, a group holding the first, a catalogue, a rule on
/// the group, a template and a custom attribute.
pub(crate) async fn seed(a: &TestOrg) -> Seed {
    let create_user = |name: &'static str, external: &'static str| async move {
        let (status, u) = a
            .scim()
            .send(
                "POST",
                "/Users",
                Some(json!({
                    "userName": name,
                    "externalId": external,
                    "name": {"givenName": "Hostile", "familyName": "Test"},
                    "emails": [{"value": name, "type": "work", "primary": true}],
                    "active": true
                })),
            )
            .await;
        assert_eq!(status, 201, "{u}");
        id(&u)
    };
    let user = create_user(U1, "ext-1").await;
    let user2 = create_user("hostile.two@example.com", "ext-2").await;
    let group = a.scim().group_with("Hostile Sales", &[&user]).await;
    // with the catalogue's lists (the products are the product API's),
    // every rule write is checked against them
    let catalog = a
        .admin()
        .if_match(
            "PUT",
            "/catalog",
            Some(
                &json!({"privileges": [{"id": "manage_users", "name": "Manage users"}],
                "userGroups": [{"id": "sales", "name": "Sales"}],
                "deviceGroups": [{"id": "laptops", "name": "Laptops"}],
                "settingsTemplates": [{"id": "standard", "name": "Standard"}]}),
            ),
            "*",
        )
        .await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    let rule = id(&a
        .admin()
        .rule(
            json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"},
                     "description": "hostile"}),
        )
        .await);
    let t = a
        .admin()
        .post(
            "/templates",
            json!({"name": "Hostile welcome", "variants": {"en": {
                "subject": "Welcome, {{firstName}}", "body": "Hi {{firstName}}, {{loginUrl}}"}}}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let template = id(&t.body);
    user_sync_tests::set_custom_attributes(a, &["badgeNumber"]).await;
    Seed {
        user,
        user2,
        group,
        rule,
        template,
    }
}

/// What the organization holds, read through both APIs: every user and
/// group with all attributes (SCIM), the rules, sync, catalogue, custom
/// attributes, templates, activity settings and the activity history.
pub(crate) async fn snapshot(a: &TestOrg) -> Value {
    let mut out = serde_json::Map::new();
    for path in ["/Users?count=200", "/Groups?count=200"] {
        let (status, mut list) = a.scim().send("GET", path, None).await;
        assert_eq!(status, 200, "{path}: {list}");
        if let Some(items) = list["Resources"].as_array_mut() {
            items.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
        }
        out.insert(format!("scim {path}"), list);
    }
    let templates = a.admin().get("/templates").await.body;
    let mut admin_paths: Vec<String> = [
        "/rules",
        "/sync",
        "/catalog",
        "/custom-attributes",
        "/activity/settings",
        "/activity?limit=200",
        "/users?limit=200",
        "/groups?limit=200",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    for t in templates["items"].as_array().into_iter().flatten() {
        if let Some(t) = t["id"].as_str() {
            admin_paths.push(format!("/templates/{t}"));
        }
    }
    for path in admin_paths {
        let r = a.admin().get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        out.insert(
            format!("admin {path}"),
            json!({"body": r.body, "etag": r.etag}),
        );
    }
    out.insert("admin /templates".into(), templates);
    let mut v = Value::Object(out);
    drop_volatile(&mut v);
    v
}

/// Removes what changes with every read (when the progress was counted).
fn drop_volatile(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("countedAt");
            o.values_mut().for_each(drop_volatile);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_volatile),
        _ => {}
    }
}

/// A snapshot once the pipeline has nothing left to do for the seed: two
/// reads a second apart that agree.
pub(crate) async fn settled_snapshot(a: &TestOrg) -> Value {
    let start = Instant::now();
    let mut last = snapshot(a).await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = snapshot(a).await;
        if now == last {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the organization's state kept changing: {}",
            first_difference(&last, &now, "state").unwrap_or_default()
        );
        last = now;
    }
}

/// Names the first difference between two snapshots.
pub(crate) fn first_difference(before: &Value, after: &Value, at: &str) -> Option<String> {
    match (before, after) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{at}.{k}"),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}[{i}]")))
            .or_else(|| {
                (x.len() != y.len()).then(|| format!("{at}: {} items → {}", x.len(), y.len()))
            }),
        _ if before == after => None,
        _ => Some(format!("{at}: {before} → {after}")),
    }
}

/// One line of a corpus file.
#[derive(Debug, Clone)]
struct Case {
    api: Api,
    raw: Value,
}

impl Case {
    fn id(&self) -> &str {
        self.raw["id"].as_str().unwrap_or("?")
    }

    fn category(&self) -> String {
        self.raw["category"].as_str().unwrap_or("?").to_owned()
    }
}

fn load(api: Api, file: &str) -> Vec<Case> {
    let path = format!("{}/hostile/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let raw: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{file} line {}: {e}", n + 1));
            for key in ["id", "category", "method", "path", "expect"] {
                assert!(!raw[key].is_null(), "{file} line {}: no {key}", n + 1);
            }
            Case { api, raw }
        })
        .collect()
}

fn expand(text: &str, case: &Value, seed: &Seed) -> String {
    let fill = match case.get("fill") {
        Some(f) => f["text"]
            .as_str()
            .unwrap()
            .repeat(usize::try_from(f["times"].as_u64().unwrap()).unwrap()),
        None => String::new(),
    };
    text.replace("{user2}", &seed.user2)
        .replace("{user}", &seed.user)
        .replace("{group}", &seed.group)
        .replace("{rule}", &seed.rule)
        .replace("{template}", &seed.template)
        .replace("{fill}", &fill)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// An answer: status, content type and the body (JSON if it parses).
struct Reply {
    status: u16,
    content_type: String,
    body: Value,
}

async fn send(http: &reqwest::Client, a: &TestOrg, case: &Case, seed: &Seed) -> Reply {
    let raw = &case.raw;
    let base = match case.api {
        Api::Scim => &stack().scim_url,
        Api::Admin => &stack().api_url,
    };
    let url = format!("{base}{}", expand(raw["path"].as_str().unwrap(), raw, seed));
    let method = reqwest::Method::from_bytes(raw["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut req = http.request(method, &url);
    let token = match raw["token"].as_str() {
        Some("none") => None,
        Some("garbage") => Some("us_admin_0000000000000000_garbage".to_owned()),
        Some("scim") => Some(a.scim_token.clone()),
        Some("admin") => Some(a.admin_token.clone()),
        Some(other) => panic!("{}: unknown token {other}", case.id()),
        None => Some(match case.api {
            Api::Scim => a.scim_token.clone(),
            Api::Admin => a.admin_token.clone(),
        }),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: Option<Vec<u8>> = match (raw["body"].as_str(), raw["body_hex"].as_str()) {
        (Some(b), _) => Some(expand(b, raw, seed).into_bytes()),
        (None, Some(h)) => Some(hex(h)),
        (None, None) => None,
    };
    let headers = raw["headers"].as_object().cloned().unwrap_or_default();
    if body.is_some() && !headers.contains_key("content-type") {
        req = req.header(
            "content-type",
            match case.api {
                Api::Scim => "application/scim+json",
                Api::Admin => "application/json",
            },
        );
    }
    for (k, v) in &headers {
        let v = expand(v.as_str().unwrap(), raw, seed);
        let v = reqwest::header::HeaderValue::from_bytes(v.as_bytes()).unwrap();
        req = req.header(k.as_str(), v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.unwrap_or_else(|e| {
        let e: String = e.to_string().chars().take(300).collect();
        panic!("{}: request failed: {e}", case.id())
    });
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        content_type,
        body,
    }
}

/// What is wrong with an answer, if anything.
fn judge(case: &Case, r: &Reply) -> Option<String> {
    let expect = &case.raw["expect"];
    if r.status >= 500 {
        return Some(format!("a {} ({})", r.status, r.body));
    }
    match (expect["status"].as_u64(), expect["class"].as_str()) {
        (Some(s), _) if u64::from(r.status) != s => {
            return Some(format!("expected {s}, got {} ({})", r.status, r.body));
        }
        (None, Some(class)) if !class.starts_with(&(r.status / 100).to_string()) => {
            return Some(format!("expected {class}, got {} ({})", r.status, r.body));
        }
        (None, None) => return Some("the case names no status".into()),
        _ => {}
    }
    if (200..300).contains(&r.status) {
        if expect["accepted"].as_str().is_none_or(str::is_empty) {
            return Some(format!(
                "accepted ({}) without an \"accepted\" reason",
                r.status
            ));
        }
        if let Some(total) = expect["total"].as_u64()
            && r.body["totalResults"] != total
        {
            return Some(format!("expected {total} results, got {}", r.body));
        }
        if expect["empty"].as_bool() == Some(true)
            && r.body["items"].as_array().is_some_and(|i| !i.is_empty())
        {
            return Some(format!("expected no items, got {}", r.body));
        }
        return None;
    }
    let b = &r.body;
    match case.api {
        Api::Scim => {
            if !r.content_type.starts_with("application/scim+json") {
                return Some(format!("content type {:?} ({b})", r.content_type));
            }
            if b["schemas"] != json!([SCIM_ERROR]) {
                return Some(format!("not a SCIM error: {b}"));
            }
            if b["status"] != json!(r.status.to_string()) {
                return Some(format!("status is not the string {}: {b}", r.status));
            }
            if !b["detail"].is_string() {
                return Some(format!("no detail: {b}"));
            }
            if let Some(t) = expect["scimType"].as_str()
                && b["scimType"] != t
            {
                return Some(format!("expected scimType {t}: {b}"));
            }
        }
        Api::Admin => {
            if !r.content_type.starts_with("application/problem+json") {
                return Some(format!("content type {:?} ({b})", r.content_type));
            }
            let code = b["code"].as_str().unwrap_or_default();
            if code.is_empty()
                || b["type"] != format!("{PROBLEM_PREFIX}{code}")
                || b["title"].as_str().is_none_or(str::is_empty)
                || b["status"] != r.status
                || !b["detail"].is_string()
            {
                return Some(format!("not problem details: {b}"));
            }
            if let Some(c) = expect["code"].as_str()
                && code != c
            {
                return Some(format!("expected code {c}: {b}"));
            }
        }
    }
    None
}

#[allow(clippy::print_stdout)] // the summary belongs in the test log
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_cleanly_and_change_nothing() {
    let a = Arc::new(TestOrg::new("hostile").await);
    let seed = Arc::new(seed(&a).await);
    let before = settled_snapshot(&a).await;

    let cases: Vec<Case> = load(Api::Scim, "scim.jsonl")
        .into_iter()
        .chain(load(Api::Admin, "admin.jsonl"))
        .collect();
    let mut ids = std::collections::HashSet::new();
    for c in &cases {
        assert!(ids.insert(c.id().to_owned()), "{} twice", c.id());
    }
    assert!(cases.len() >= 300, "the corpus has {} cases", cases.len());

    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for case in cases {
        let (a, seed, http, limit) = (a.clone(), seed.clone(), http.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            let reply = send(&http, &a, &case, &seed).await;
            let verdict = judge(&case, &reply);
            (case, reply.status, verdict)
        });
    }
    let mut by_category: BTreeMap<(String, &str), (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (case, status, verdict) = done.unwrap();
        let api = match case.api {
            Api::Scim => "scim",
            Api::Admin => "admin",
        };
        let entry = by_category.entry((case.category(), api)).or_default();
        entry.0 += 1;
        if (200..300).contains(&status) {
            entry.1 += 1;
        }
        if let Some(why) = verdict {
            let why: String = why.chars().take(400).collect();
            failures.push(format!("{}: {why}", case.id()));
        }
    }
    let elapsed = started.elapsed();
    println!("hostile corpus replayed in {elapsed:.1?}:");
    println!(
        "{:<16} {:<6} {:>6} {:>9}",
        "category", "api", "cases", "accepted"
    );
    let mut total = 0;
    for ((category, api), (n, accepted)) in &by_category {
        println!("{category:<16} {api:<6} {n:>6} {accepted:>9}");
        total += n;
    }
    println!("{:<16} {:<6} {total:>6}", "all", "");
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let after = settled_snapshot(&a).await;
    if let Some(diff) = first_difference(&before, &after, "state") {
        panic!("the hostile corpus changed the organization: {diff}");
    }
}
