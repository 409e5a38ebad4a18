//! Welcome-email templates on the local stack: CRUD with ETags (`412`,
//! `428`), validation naming the field, the shipped default as a read-only
//! entry, deleting a template that rules use, previews, and the pipeline
//! sending a rule's template in the rule's language (and the shipped
//! default in Japanese). Each test has its own organization.

use serde_json::{Value, json};
use user_sync_tests::{Answer, Client, api_url, emails_to, eventually, stack};

use crate::admin::{PIPELINE, TestOrg, id};

async fn template(org: &TestOrg, body: Value) -> Answer {
    let a = org.admin().post("/templates", body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    a
}

fn error(a: &Answer) -> (String, String) {
    (
        a.body["code"].as_str().unwrap_or_default().to_owned(),
        a.body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

fn sales_template() -> Value {
    json!({
        "name": "Sales welcome",
        "variants": {
            "en": {"subject": "Welcome aboard, {{firstName}}", "body": "Hi {{firstName}},\n\nYou now have {{products}} at {{companyName}}.\n\n{{loginUrl}}"},
            "de": {"subject": "Willkommen an Bord, {{firstName}}", "body": "Hallo {{firstName}},\n\nSie haben jetzt {{products}} bei {{companyName}}.\n\n{{loginUrl}}"}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_created_read_replaced_and_deleted_with_etags() {
    let a = TestOrg::new("tpl-crud").await;

    // the shipped default is listed, read-only, with its languages
    let list = a.admin().get("/templates").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "default");
    assert_eq!(items[0]["readOnly"], true);
    assert_eq!(
        items[0]["languages"],
        json!(["de", "en", "es", "fr", "it", "ja", "pt-BR"])
    );
    let d = a.admin().get("/templates/default").await;
    assert_eq!(d.status, 200);
    assert_eq!(
        d.body["variants"]["ja"]["subject"],
        "{{companyName}} へようこそ"
    );

    // validation names the field and the placeholder
    let mut bad = sales_template();
    bad["variants"]["de"]["body"] = json!("Hallo {{firstName}} {{lastName}}");
    let r = a.admin().post("/templates", bad).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let (code, message) = error(&r);
    assert_eq!(code, "invalid_template");
    assert!(
        message.starts_with("variants.de.body: unknown placeholder {{lastName}}"),
        "{message}"
    );
    // anything between braces that is not exactly a placeholder is refused,
    // named: a carriage return inside used to pass and then render literally
    for (body, named) in [
        (
            "Hi {{\rfirstName}},\n\n{{products}}",
            "variants.en.body: \"{{\\rfirstName}}\" is not a placeholder (line 1)",
        ),
        (
            "Hi {{ firstName }},",
            "variants.en.body: \"{{ firstName }}\" is not a placeholder: write {{firstName}}",
        ),
        (
            "Hi {{first\u{202e}Name}}",
            "variants.en.body: \"{{first\\u{202e}Name}}\" is not a placeholder",
        ),
    ] {
        let mut bad = sales_template();
        bad["variants"]["en"]["body"] = json!(body);
        let r = a.admin().post("/templates", bad).await;
        assert_eq!(r.status, 422, "{body:?}: {}", r.body);
        let (code, message) = error(&r);
        assert_eq!(code, "invalid_template");
        assert!(message.starts_with(named), "{body:?}: {message}");
    }
    let mut bad = sales_template();
    bad["variants"]["en"]["subject"] = json!("Hi\r\nBcc: x@example.com");
    let r = a.admin().post("/templates", bad).await;
    assert_eq!(r.status, 422);
    assert!(
        error(&r)
            .1
            .starts_with("variants.en.subject: must be one line")
    );
    let mut bad = sales_template();
    bad["colour"] = json!("red");
    let r = a.admin().post("/templates", bad).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        error(&r),
        (
            "unknown_field".to_owned(),
            "colour: unknown field, expected `name` or `variants`".to_owned()
        )
    );
    // at any depth
    let mut bad = sales_template();
    bad["variants"]["en"]["text"] = json!("Hello");
    let r = a.admin().post("/templates", bad).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        error(&r).1,
        "variants.en.text: unknown field, expected `subject` or `body`"
    );

    // create: 201, ETag, Location
    let resp = reqwest::Client::new()
        .post(api_url("/templates"))
        .bearer_auth(&a.admin_token)
        .header("content-type", "application/json")
        .body(sales_template().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(resp.headers()["etag"], "\"1\"");
    let created: Value = resp.json().await.unwrap();
    let t = id(&created);
    assert_eq!(location, format!("/api/v1/templates/{t}"));
    assert_eq!(created["version"], 1);
    assert_eq!(created["readOnly"], false);
    assert_eq!(created["updatedBy"], "Admin");
    assert_eq!(created["languages"], json!(["de", "en"]));

    let got = a.admin().get(&format!("/templates/{t}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.etag.as_deref(), Some("\"1\""));
    assert_eq!(got.body["variants"], sales_template()["variants"]);

    // replace: If-Match required, stale ETags refused
    let mut changed = sales_template();
    changed["name"] = json!("Sales welcome (2026)");
    let path = format!("/templates/{t}");
    let r = a.admin().put(&path, changed.clone()).await;
    assert_eq!(r.status, 428, "{}", r.body);
    let r = a
        .admin()
        .if_match("PUT", &path, Some(&changed), "\"7\"")
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    let r = a
        .admin()
        .if_match("PUT", &path, Some(&changed), "\"1\"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.etag.as_deref(), Some("\"2\""));
    assert_eq!(r.body["name"], "Sales welcome (2026)");
    // the slower admin, who read version 1
    let r = a
        .admin()
        .if_match("PUT", &path, Some(&sales_template()), "\"1\"")
        .await;
    assert_eq!(r.status, 412);

    // the shipped default cannot be changed or deleted
    let r = a
        .admin()
        .if_match("PUT", "/templates/default", Some(&sales_template()), "*")
        .await;
    assert_eq!((r.status, error(&r).0.as_str()), (405, "read_only"));
    let r = a
        .admin()
        .if_match("DELETE", "/templates/default", None, "*")
        .await;
    assert_eq!(r.status, 405);

    let list = a.admin().get("/templates").await;
    let ids: Vec<String> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, ["default".to_owned(), t.clone()]);

    // another organization's admin does not see it
    let other = TestOrg::new("tpl-other").await;
    let r = other.admin().get(&path).await;
    assert_eq!(r.status, 404);
    let r = other.admin().if_match("DELETE", &path, None, "*").await;
    assert_eq!(r.status, 404);

    // delete: If-Match required
    let r = a.admin().delete(&path).await;
    assert_eq!(r.status, 428);
    let r = a.admin().if_match("DELETE", &path, None, "\"1\"").await;
    assert_eq!(r.status, 412);
    let r = a.admin().if_match("DELETE", &path, None, "\"2\"").await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(a.admin().get(&path).await.status, 404);

    // the admin's changes are in the activity history
    let activity = a.admin().get("/activity").await;
    let actions: Vec<&str> = activity.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject"]["kind"] == "template" && e["actor"] == "Admin")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["template_deleted", "template_updated", "template_created"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_rules_use_cannot_be_deleted_and_rules_name_existing_templates() {
    let a = TestOrg::new("tpl-inuse").await;
    let g = a.scim().group_with("Sales", &[]).await;
    let t = id(&template(&a, sales_template()).await.body);

    let r = a
        .admin()
        .post(
            "/rules",
            json!({"groupId": g, "products": ["G2M"], "emailTemplate": "no-such-template"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(error(&r).1.starts_with("emailTemplate: "), "{}", r.body);

    let r1 = a
        .admin().rule(json!({"groupId": g, "description": "Sales get Meeting", "products": ["G2M"], "emailTemplate": t}))
        .await;
    let r2 = a
        .admin().rule(json!({"groupId": g, "description": "Sales admins", "adminRole": {"type": "full_admin"}, "emailTemplate": t}))
        .await;
    // "default" is always a template
    a.admin()
        .rule(json!({"groupId": g, "products": ["G2T"], "emailTemplate": "default"}))
        .await;

    let path = format!("/templates/{t}");
    let r = a.admin().if_match("DELETE", &path, None, "\"1\"").await;
    assert_eq!(r.status, 409, "{}", r.body);
    let (code, message) = error(&r);
    assert_eq!(code, "template_in_use");
    for rule in [&r1, &r2] {
        assert!(message.contains(&id(rule)), "{message}");
    }
    assert!(message.contains("\"Sales get Meeting\""), "{message}");
    assert!(message.contains("\"Sales admins\""), "{message}");

    // once no rule names it, it can go
    for rule in [&r1, &r2] {
        let r = a
            .admin()
            .patch_rule(rule, json!({"emailTemplate": null}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = a.admin().if_match("DELETE", &path, None, "\"1\"").await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_use_sample_values_or_a_users_own() {
    let a = TestOrg::new("tpl-preview").await;

    // the shipped default, with sample values
    let p = a
        .admin()
        .post("/templates/default/preview", json!({"language": "fr"}))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["language"], "fr");
    assert_eq!(p.body["subject"], "Bienvenue chez Test Company");
    let text = p.body["text"].as_str().unwrap();
    assert!(text.starts_with("Bonjour Alex,"), "{text}");
    assert!(text.contains("GoTo Meeting"), "{text}");
    let login = format!("{}/console", stack().api_url.trim_end_matches("/api/v1"));
    assert!(
        p.body["html"]
            .as_str()
            .unwrap()
            .contains(&format!("<a href=\"{login}\">")),
        "{}",
        p.body["html"]
    );

    // a custom template: the variant closest to the language asked for
    let t = id(&template(&a, sales_template()).await.body);
    let path = format!("/templates/{t}/preview");
    let p = a.admin().post(&path, json!({"language": "de-AT"})).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        (&p.body["language"], &p.body["subject"]),
        (&json!("de"), &json!("Willkommen an Bord, Alex"))
    );
    // no body: the organization's default language (English)
    let p = a.admin().request("POST", &path, None, &[]).await;
    assert_eq!(p.body["language"], "en");

    // a user's own first name (escaped in the HTML) and current products
    let user = a.scim().user_named("eve", "Eve<script>x</script>").await;
    let g = a.scim().group_with("Preview group", &[&user]).await;
    a.admin()
        .rule_and_sync(
            json!({"groupId": g, "products": ["G2M", "G2T"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    let p = eventually("the user's products in the preview", PIPELINE, || async {
        let p = a.admin().post(&path, json!({"userId": user})).await;
        (p.status == 200 && p.body["text"].as_str().unwrap().contains("G2M, G2T")).then_some(p)
    })
    .await;
    assert_eq!(p.body["subject"], "Welcome aboard, Eve<script>x</script>");
    let html = p.body["html"].as_str().unwrap();
    assert!(
        html.contains("Hi Eve&lt;script&gt;x&lt;/script&gt;,"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    // an identity provider's first name of 1,024 characters with bidi
    // overrides and isolates: cut to 100 characters, the controls gone
    let given = format!(
        "\u{202e}moc.evil\u{202c}\u{2067}{}\u{2069}",
        "M".repeat(1_012)
    );
    assert_eq!(given.chars().count(), 1_024);
    let mallory = a.scim().user_named("mallory", &given).await;
    let p = a.admin().post(&path, json!({"userId": mallory})).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let shown = format!("moc.evil{}…", "M".repeat(91));
    assert_eq!(shown.chars().count(), 100);
    assert_eq!(p.body["subject"], format!("Welcome aboard, {shown}"));
    for part in ["subject", "text", "html"] {
        let s = p.body[part].as_str().unwrap();
        assert!(s.contains(&shown), "{part}: {s}");
        assert!(!s.contains(&"M".repeat(92)), "{part}: {s}");
        assert!(
            !s.chars()
                .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "{part}: {s:?}"
        );
    }

    // unknown users, templates and languages
    let r = a.admin().post(&path, json!({"userId": "nobody"})).await;
    assert_eq!(r.status, 404);
    let r = a.admin().post("/templates/nope/preview", json!({})).await;
    assert_eq!(r.status, 404);
    let r = a.admin().post(&path, json!({"language": "german"})).await;
    assert_eq!(r.status, 422);
    assert!(error(&r).1.starts_with("language: "));
    let r = a.admin().post(&path, json!({"lang": "de"})).await;
    assert_eq!(r.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_emails_use_the_rules_template_and_language() {
    let a = TestOrg::new("tpl-mail").await;
    let t = id(&template(&a, sales_template()).await.body);
    let jo = a
        .scim()
        .user_named("jo", "Jo<script>alert(1)</script>")
        .await;
    let ken = a.scim().user_named("ken", "Ken").await;
    let sales = a.scim().group_with("Sales", &[&jo]).await;
    let tokyo = a.scim().group_with("Tokyo", &[&ken]).await;
    a.admin()
        .rule(
            json!({"groupId": sales, "products": ["G2M"], "adminRole": {"type": "full_admin"},
                  "emailTemplate": t, "language": "de"}),
        )
        .await;
    a.admin()
        .rule_and_sync(json!({"groupId": tokyo, "products": ["G2T"], "language": "ja"}))
        .await;

    let c = Client::new();
    let to_jo = a.email("jo");
    let sent = eventually("Jo's welcome email", PIPELINE, || async {
        let sent = emails_to(&c, &to_jo).await;
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["subject"],
        "Willkommen an Bord, Jo<script>alert(1)</script>"
    );
    let html = sent[0]["body"].as_str().unwrap();
    assert!(
        html.contains("Hallo Jo&lt;script&gt;alert(1)&lt;/script&gt;,"),
        "{html}"
    );
    assert!(
        html.contains("Sie haben jetzt G2M bei Test Company."),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    let to_ken = a.email("ken");
    let sent = eventually("Ken's welcome email", PIPELINE, || async {
        let sent = emails_to(&c, &to_ken).await;
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["subject"], "Test Company へようこそ");
    let html = sent[0]["body"].as_str().unwrap();
    assert!(html.contains("<p>Ken 様</p>"), "{html}");
    assert!(html.contains("G2T"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_has_at_most_100_templates_even_when_creates_race() {
    let a = TestOrg::new("tpl-cap").await;
    let body = json!({"name": "T", "variants": {"en": {"subject": "Hi", "body": "Hello"}}});
    let mut last = None;
    for _ in 0..99 {
        last = Some(template(&a, body.clone()).await);
    }
    // five admins create the 100th at once: one wins
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let url = api_url("/templates");
            let token = a.admin_token.clone();
            let body = body.to_string();
            tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => created += 1,
            409 => assert_eq!(body["code"], "template_limit", "{body}"),
            _ => panic!("{status} {body}"),
        }
    }
    assert_eq!(created, 1);
    let list = a.admin().get("/templates").await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        101,
        "100 and the default"
    );
    let r = a.admin().post("/templates", body.clone()).await;
    assert_eq!(r.status, 409);

    // deleting one makes room for one
    let last = last.unwrap();
    let r = a
        .admin()
        .if_match(
            "DELETE",
            &format!("/templates/{}", id(&last.body)),
            None,
            "\"1\"",
        )
        .await;
    assert_eq!(r.status, 204);
    template(&a, body.clone()).await;
    let r = a.admin().post("/templates", body).await;
    assert_eq!(r.status, 409);
}
