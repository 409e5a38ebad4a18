//! Welcome emails: the default template in several languages, rendered in our
//! code. Placeholder values are HTML-escaped; the template text itself never
//! comes from directory data.

use std::collections::BTreeSet;

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The values a template may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeValues<'a> {
    pub first_name: Option<&'a str>,
    pub products: &'a BTreeSet<String>,
    pub login_url: &'a str,
    pub company_name: &'a str,
}

struct Template {
    subject: &'static str,
    greeting: &'static str,
    greeting_anonymous: &'static str,
    body: &'static str,
    sign_in: &'static str,
}

/// The default template, per language. `{company}`, `{products}`, `{name}`
/// are placeholders.
fn default_template(language: &str) -> (&'static str, Template) {
    let primary = language
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase();
    match primary.as_str() {
        "de" => (
            "de",
            Template {
                subject: "Willkommen bei {company}",
                greeting: "Hallo {name},",
                greeting_anonymous: "Hallo,",
                body: "für Sie wurde ein Konto mit diesen Produkten eingerichtet: {products}.",
                sign_in: "Anmelden",
            },
        ),
        "fr" => (
            "fr",
            Template {
                subject: "Bienvenue chez {company}",
                greeting: "Bonjour {name},",
                greeting_anonymous: "Bonjour,",
                body: "un compte a été créé pour vous avec ces produits : {products}.",
                sign_in: "Se connecter",
            },
        ),
        "es" => (
            "es",
            Template {
                subject: "Bienvenido a {company}",
                greeting: "Hola {name}:",
                greeting_anonymous: "Hola:",
                body: "se ha creado una cuenta para usted con estos productos: {products}.",
                sign_in: "Iniciar sesión",
            },
        ),
        _ => (
            "en",
            Template {
                subject: "Welcome to {company}",
                greeting: "Hello {name},",
                greeting_anonymous: "Hello,",
                body: "an account has been set up for you with these products: {products}.",
                sign_in: "Sign in",
            },
        ),
    }
}

/// Languages the default template ships in.
pub const DEFAULT_LANGUAGES: [&str; 4] = ["en", "de", "fr", "es"];

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Removes control characters (CR/LF in a subject would inject headers).
fn plain(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// Renders the default welcome email in `language` (falling back to English).
pub fn render_welcome(language: Option<&str>, v: &WelcomeValues<'_>) -> RenderedEmail {
    let (_, t) = default_template(language.unwrap_or("en"));
    let products: Vec<&str> = v.products.iter().map(String::as_str).collect();
    let products = products.join(", ");
    let fill = |s: &str, esc: &dyn Fn(&str) -> String| {
        s.replace("{company}", &esc(v.company_name))
            .replace("{products}", &esc(&products))
            .replace("{name}", &esc(v.first_name.unwrap_or("")))
    };
    let greeting = if v.first_name.is_some_and(|n| !n.trim().is_empty()) {
        t.greeting
    } else {
        t.greeting_anonymous
    };
    let subject = fill(t.subject, &|s| plain(s));
    let text = format!(
        "{}\n\n{}\n\n{}: {}\n",
        fill(greeting, &|s| plain(s)),
        fill(t.body, &|s| plain(s)),
        t.sign_in,
        plain(v.login_url)
    );
    let html = format!(
        "<!doctype html><html><body><p>{}</p><p>{}</p><p><a href=\"{}\">{}</a></p></body></html>",
        fill(greeting, &escape_html),
        fill(t.body, &escape_html),
        escape_html(v.login_url),
        t.sign_in
    );
    RenderedEmail {
        subject,
        html,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products() -> BTreeSet<String> {
        ["GoTo Meeting".to_owned(), "GoTo Training".to_owned()]
            .into_iter()
            .collect()
    }

    #[test]
    fn renders_english_by_default_with_values() {
        let p = products();
        let e = render_welcome(
            None,
            &WelcomeValues {
                first_name: Some("Ada"),
                products: &p,
                login_url: "https://login.example",
                company_name: "Acme",
            },
        );
        assert_eq!(e.subject, "Welcome to Acme");
        assert!(e.html.contains("Hello Ada,"));
        assert!(e.text.contains("GoTo Meeting, GoTo Training"));
    }

    #[test]
    fn renders_german_for_de_locales() {
        let p = products();
        let e = render_welcome(
            Some("de-AT"),
            &WelcomeValues {
                first_name: Some("Ada"),
                products: &p,
                login_url: "u",
                company_name: "Acme",
            },
        );
        assert_eq!(e.subject, "Willkommen bei Acme");
    }

    #[test]
    fn values_are_escaped_and_cannot_inject_headers() {
        let p = products();
        let e = render_welcome(
            Some("en"),
            &WelcomeValues {
                first_name: Some("<script>alert(1)</script>"),
                products: &p,
                login_url: "u",
                company_name: "Evil\r\nBcc: x@y",
            },
        );
        assert!(!e.html.contains("<script>"));
        assert!(e.html.contains("&lt;script&gt;"));
        assert!(!e.subject.contains('\n'));
    }
}
