//! Welcome emails: templates (an organization's own, or the shipped default
//! in several languages), rendered in our code. The template text is never
//! built from directory data: values are only substituted, with control
//! characters removed, and HTML-escaped in the HTML part.

mod default;
pub mod template;

use std::collections::BTreeSet;

pub use default::{
    DEFAULT_LANGUAGES, DEFAULT_TEMPLATE_ID, DEFAULT_TEMPLATE_NAME, default_template,
};
pub use template::{EmailTemplate, Placeholder, TemplateError, Variant};

use template::{Token, tokens};

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RenderedEmail {
    /// The language of the variant that was rendered.
    pub language: String,
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

/// Escapes text for HTML element content and attribute values (control
/// characters are dropped).
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

/// Most characters of the first name an email shows; a longer one is cut
/// with an ellipsis.
pub const MAX_FIRST_NAME_CHARS: usize = 100;
/// Most characters of the company name an email shows.
pub const MAX_COMPANY_NAME_CHARS: usize = 100;
/// Most characters of one product's name an email shows.
pub const MAX_PRODUCT_CHARS: usize = 100;
/// Most characters of the product list an email shows.
pub const MAX_PRODUCTS_CHARS: usize = 1_000;

/// Removes what is not shown as itself: control characters (CR/LF in a
/// subject would inject headers), format characters (bidi overrides and
/// isolates reorder what is shown; zero-width characters hide text) and the
/// line and paragraph separators.
fn plain(s: &str) -> String {
    s.chars().filter(|c| !crate::text::is_hidden(*c)).collect()
}

/// `s` without hidden characters, trimmed, and at most `max` characters:
/// a longer value is cut and ends with `…`.
pub fn bounded(s: &str, max: usize) -> String {
    let s = plain(s);
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep: String = s.chars().take(max.saturating_sub(1)).collect();
    let mut out = keep.trim_end().to_owned();
    out.push('…');
    out
}

/// The values, as plain one-line text of bounded length: directory data
/// (the first name) and organization data (the company and product names)
/// cannot make an email longer than its template allows for, nor hide or
/// reorder text in it.
struct Values {
    first_name: String,
    products: String,
    login_url: String,
    company_name: String,
}

impl Values {
    fn new(v: &WelcomeValues<'_>) -> Self {
        let products: Vec<String> = v
            .products
            .iter()
            .map(|p| bounded(p, MAX_PRODUCT_CHARS))
            .filter(|p| !p.is_empty())
            .collect();
        Self {
            first_name: bounded(v.first_name.unwrap_or_default(), MAX_FIRST_NAME_CHARS),
            products: bounded(&products.join(", "), MAX_PRODUCTS_CHARS),
            // the stack's own setting, not free text; a cut URL would not work
            login_url: plain(v.login_url).trim().to_owned(),
            company_name: bounded(v.company_name, MAX_COMPANY_NAME_CHARS),
        }
    }

    fn get(&self, p: Placeholder) -> &str {
        match p {
            Placeholder::FirstName => &self.first_name,
            Placeholder::Products => &self.products,
            Placeholder::LoginUrl => &self.login_url,
            Placeholder::CompanyName => &self.company_name,
        }
    }
}

/// Renders one line of template text; `escape` is applied to template text
/// and values alike, `field` renders a non-empty value. An empty value also
/// takes the spaces before it when punctuation or the line's end follows
/// ("Hello {{firstName}}," without a first name reads "Hello,").
fn render_line(
    line: &str,
    values: &Values,
    escape: &dyn Fn(&str) -> String,
    field: &dyn Fn(Placeholder, &str) -> String,
) -> String {
    let parts = tokens(line);
    let mut out = String::new();
    for (i, t) in parts.iter().enumerate() {
        let p = match t {
            Token::Field(p) => *p,
            Token::Invalid { source, problem } => match problem.placeholder() {
                Some(p) => p,
                None => {
                    out.push_str(&escape(source));
                    continue;
                }
            },
            Token::Text(s) => {
                out.push_str(&escape(s));
                continue;
            }
        };
        let value = values.get(p);
        if value.is_empty() {
            let next = match parts.get(i + 1) {
                Some(Token::Text(s)) => s.chars().next(),
                Some(_) => Some('x'),
                None => None,
            };
            if next.is_none_or(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
                out.truncate(out.trim_end_matches([' ', '\t']).len());
            }
        } else {
            out.push_str(&field(p, value));
        }
    }
    out
}

/// A link for an http(s) URL; anything else is shown as text.
fn link(url: &str) -> String {
    let e = escape_html(url);
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!("<a href=\"{e}\">{e}</a>")
    } else {
        e
    }
}

/// Renders a template in the first of the `preferred` languages it has
/// (else English, else its first language; see [`EmailTemplate::variant`]).
///
/// - subject: the subject with the values substituted; control characters
///   are removed from the values (and from the result), so it is one line;
/// - text: the body with the values substituted;
/// - HTML: built from the body: every piece of template text and every
///   value escaped, paragraphs (separated by blank lines) as `<p>`, line
///   breaks as `<br>`, `{{loginUrl}}` as a link.
pub fn render(
    template: &EmailTemplate,
    preferred: &[&str],
    values: &WelcomeValues<'_>,
) -> RenderedEmail {
    let v = Values::new(values);
    let Some((language, variant)) = template.variant(preferred) else {
        // only a template without variants, which `parse` refuses
        return render(&default_template(), preferred, values);
    };
    let same = |s: &str| s.to_owned();
    let subject = plain(&render_line(&variant.subject, &v, &same, &|_, x| {
        x.to_owned()
    }))
    .trim()
    .to_owned();
    let body = variant.body.replace("\r\n", "\n").replace('\r', "\n");
    let text: Vec<String> = body
        .split('\n')
        .map(|line| render_line(line, &v, &same, &|_, x| x.to_owned()))
        .collect();
    let mut text = text.join("\n").trim_end().to_owned();
    text.push('\n');
    let html_field = |p: Placeholder, x: &str| match p {
        Placeholder::LoginUrl => link(x),
        _ => escape_html(x),
    };
    let mut paragraphs: Vec<Vec<String>> = vec![Vec::new()];
    for line in body.split('\n') {
        if line.trim().is_empty() {
            if paragraphs.last().is_some_and(|p| !p.is_empty()) {
                paragraphs.push(Vec::new());
            }
        } else if let Some(p) = paragraphs.last_mut() {
            p.push(render_line(line, &v, &escape_html, &html_field));
        }
    }
    let mut html =
        String::from("<!doctype html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    for p in paragraphs.iter().filter(|p| !p.is_empty()) {
        html.push_str("<p>");
        html.push_str(&p.join("<br>\n"));
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    RenderedEmail {
        language: language.to_owned(),
        subject,
        html,
        text,
    }
}

/// Renders the shipped default welcome email in `language` (by tag, then
/// primary language, then English).
pub fn render_welcome(language: Option<&str>, v: &WelcomeValues<'_>) -> RenderedEmail {
    render(&default_template(), language.as_slice(), v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ids::TemplateId;

    fn products() -> BTreeSet<String> {
        ["GoTo Meeting".to_owned(), "GoTo Training".to_owned()]
            .into_iter()
            .collect()
    }

    fn values<'a>(
        first: Option<&'a str>,
        p: &'a BTreeSet<String>,
        company: &'a str,
    ) -> WelcomeValues<'a> {
        WelcomeValues {
            first_name: first,
            products: p,
            login_url: "https://login.example/start?a=1&b=2",
            company_name: company,
        }
    }

    fn custom(variants: &[(&str, &str, &str)]) -> EmailTemplate {
        let v: BTreeMap<String, Variant> = variants
            .iter()
            .map(|(l, s, b)| {
                (
                    (*l).to_owned(),
                    Variant {
                        subject: (*s).to_owned(),
                        body: (*b).to_owned(),
                    },
                )
            })
            .collect();
        EmailTemplate::parse(TemplateId::parse("t1").unwrap(), "Custom", v).unwrap()
    }

    #[test]
    fn renders_english_by_default_with_values() {
        let p = products();
        let e = render_welcome(None, &values(Some("Ada"), &p, "Acme"));
        assert_eq!(e.language, "en");
        assert_eq!(e.subject, "Welcome to Acme");
        assert!(e.html.contains("Hello Ada,"));
        assert!(e.text.starts_with("Hello Ada,\n\n"));
        assert!(e.text.contains("GoTo Meeting, GoTo Training"));
    }

    #[test]
    fn renders_german_for_de_locales() {
        let p = products();
        let e = render_welcome(Some("de-AT"), &values(Some("Ada"), &p, "Acme"));
        assert_eq!(e.language, "de");
        assert_eq!(e.subject, "Willkommen bei Acme");
    }

    #[test]
    fn every_language_of_the_default_renders_its_own_text() {
        let p = products();
        let expected = [
            ("en", "Welcome to Acme", "Hello Ada,", "Sign in here:"),
            (
                "de",
                "Willkommen bei Acme",
                "Hallo Ada,",
                "Hier melden Sie sich an:",
            ),
            (
                "fr",
                "Bienvenue chez Acme",
                "Bonjour Ada,",
                "Pour vous connecter :",
            ),
            (
                "es",
                "Le damos la bienvenida a Acme",
                "Hola Ada:",
                "Inicie sesión aquí:",
            ),
            (
                "it",
                "Ti diamo il benvenuto in Acme",
                "Ciao Ada,",
                "Accedi qui:",
            ),
            (
                "pt-BR",
                "Boas-vindas: sua conta Acme está pronta",
                "Olá Ada,",
                "Faça login aqui:",
            ),
            (
                "ja",
                "Acme へようこそ",
                "Ada 様",
                "以下の URL からサインインしてください。",
            ),
        ];
        assert_eq!(expected.len(), DEFAULT_LANGUAGES.len());
        for (lang, subject, greeting, sign_in) in expected {
            let e = render_welcome(Some(lang), &values(Some("Ada"), &p, "Acme"));
            assert_eq!(e.language, lang);
            assert_eq!(e.subject, subject, "{lang}");
            assert!(e.text.starts_with(greeting), "{lang}: {}", e.text);
            assert!(e.text.contains(sign_in), "{lang}");
            assert!(e.text.contains("GoTo Meeting, GoTo Training"), "{lang}");
            assert!(
                e.html
                    .contains(&format!("<p>{}</p>", escape_html(greeting))),
                "{lang}: {}",
                e.html
            );
            assert!(
                e.text.contains("https://login.example/start?a=1&b=2"),
                "{lang}"
            );
        }
        // plain Portuguese and other regions find the Brazilian variant
        for tag in ["pt", "PT-pt", "pt_BR"] {
            assert_eq!(
                render_welcome(Some(tag), &values(None, &p, "A")).language,
                "pt-BR"
            );
        }
        assert_eq!(
            render_welcome(Some("ja-JP"), &values(None, &p, "A")).language,
            "ja"
        );
        assert_eq!(
            render_welcome(Some("nl"), &values(None, &p, "A")).language,
            "en"
        );
    }

    #[test]
    fn values_are_escaped_and_cannot_inject_headers() {
        let p: BTreeSet<String> = ["<b>Pro</b>".to_owned()].into_iter().collect();
        let e = render_welcome(
            Some("en"),
            &values(
                Some("<script>alert(1)</script>"),
                &p,
                "Evil & <script>x</script>\r\nBcc: x@y",
            ),
        );
        assert!(!e.html.contains("<script>"), "{}", e.html);
        assert!(
            e.html
                .contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;,")
        );
        assert!(e.html.contains("&lt;b&gt;Pro&lt;/b&gt;"));
        assert!(!e.subject.contains(['\r', '\n']));
        assert_eq!(e.subject, "Welcome to Evil & <script>x</script>Bcc: x@y");
        // the text part is plain text: values as they are, without line breaks
        assert!(e.text.contains("Hello <script>alert(1)</script>,"));
    }

    #[test]
    fn line_breaks_in_values_never_reach_the_subject_of_a_custom_template() {
        let t = custom(&[("en", "{{companyName}} for {{firstName}}", "Hi")]);
        let p = products();
        let e = render(
            &t,
            &[],
            &values(Some("Ada\r\nBcc: victim@example.com"), &p, "Acme\n"),
        );
        assert_eq!(e.subject, "Acme for AdaBcc: victim@example.com");
    }

    #[test]
    fn the_html_part_is_built_from_the_plain_text_body() {
        let t = custom(&[(
            "en",
            "Hi",
            "Dear {{firstName}} & co,\r\nwelcome to <{{companyName}}>.\n\n\n{{loginUrl}}\n",
        )]);
        let p = products();
        let e = render(&t, &["en"], &values(Some("Ada"), &p, "A&B"));
        assert_eq!(
            e.html,
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"></head><body>\n\
             <p>Dear Ada &amp; co,<br>\nwelcome to &lt;A&amp;B&gt;.</p>\n\
             <p><a href=\"https://login.example/start?a=1&amp;b=2\">https://login.example/start?a=1&amp;b=2</a></p>\n\
             </body></html>\n"
        );
        assert_eq!(
            e.text,
            "Dear Ada & co,\nwelcome to <A&B>.\n\n\nhttps://login.example/start?a=1&b=2\n"
        );
    }

    #[test]
    fn a_login_url_that_is_not_http_is_not_a_link() {
        let t = custom(&[("en", "Hi", "{{loginUrl}}")]);
        let p = products();
        let mut v = values(None, &p, "A");
        v.login_url = "javascript:alert(1)";
        assert!(!render(&t, &[], &v).html.contains("<a "));
    }

    #[test]
    fn a_missing_first_name_leaves_no_dangling_space() {
        let p = products();
        let e = render_welcome(Some("en"), &values(None, &p, "Acme"));
        assert!(e.text.starts_with("Hello,\n"), "{}", e.text);
        let e = render_welcome(Some("es"), &values(Some("  "), &p, "Acme"));
        assert!(e.text.starts_with("Hola:\n"), "{}", e.text);
    }

    #[test]
    fn identity_provider_names_are_bounded_and_cannot_reorder_the_email() {
        // a first name of 1,024 characters (SCIM's limit) with bidi
        // overrides, isolates and zero-width characters
        let hostile = format!(
            "\u{202e}moc.evil\u{202c}\u{2066}x\u{2069}\u{200b}\u{2028}{}",
            "A".repeat(1_009)
        );
        assert_eq!(hostile.chars().count(), 1_024);
        let p: BTreeSet<String> = [format!("Pro\u{202d}{}", "P".repeat(500))]
            .into_iter()
            .collect();
        let company = format!("Acme\u{202b}{}", "C".repeat(300));
        let t = custom(&[(
            "en",
            "{{firstName}} at {{companyName}}",
            "Hi {{firstName}}, {{products}}",
        )]);
        let e = render(&t, &[], &values(Some(&hostile), &p, &company));
        for part in [&e.subject, &e.text, &e.html] {
            assert!(
                !part.chars().any(|c| matches!(
                    c,
                    '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}' | '\u{2028}'
                )),
                "{part:?}"
            );
        }
        let first = format!("moc.evilx{}…", "A".repeat(MAX_FIRST_NAME_CHARS - 10));
        assert_eq!(first.chars().count(), MAX_FIRST_NAME_CHARS);
        let company = format!("Acme{}…", "C".repeat(MAX_COMPANY_NAME_CHARS - 5));
        assert_eq!(e.subject, format!("{first} at {company}"));
        let product = format!("Pro{}…", "P".repeat(MAX_PRODUCT_CHARS - 4));
        assert_eq!(e.text, format!("Hi {first}, {product}\n"));
        // the product list as a whole is bounded too
        let many: BTreeSet<String> = (0..100).map(|i| format!("Product {i:03}")).collect();
        let e = render(&t, &[], &values(Some("Ada"), &many, "A"));
        let list = e.text.trim_end().trim_start_matches("Hi Ada, ");
        assert_eq!(list.chars().count(), MAX_PRODUCTS_CHARS);
        assert!(list.ends_with('…'));
        // short values are kept as they are
        assert_eq!(bounded("  Ada Lovelace ", 100), "Ada Lovelace");
        assert_eq!(bounded("Ada Lovelace", 4), "Ada…");
    }

    #[test]
    fn a_template_saved_with_spaces_inside_the_braces_still_renders_them() {
        // validation refuses `{{ firstName }}` now; a template stored before
        // keeps working
        let t = EmailTemplate {
            id: TemplateId::parse("t1").unwrap(),
            name: "Old".into(),
            variants: BTreeMap::from([(
                "en".to_owned(),
                Variant {
                    subject: "Hi {{ firstName }}".into(),
                    body: "Hello {{ firstName }},\n{{ loginUrl }}".into(),
                },
            )]),
        };
        let p = products();
        let e = render(&t, &[], &values(Some("Ada"), &p, "A"));
        assert_eq!(e.subject, "Hi Ada");
        assert!(e.text.starts_with("Hello Ada,\nhttps://login.example/"));
        assert!(e.html.contains("<a href="), "{}", e.html);
    }

    #[test]
    fn a_custom_template_renders_the_chosen_variant() {
        let t = custom(&[
            ("en", "Welcome, {{firstName}}", "Hello"),
            ("de", "Willkommen, {{firstName}}", "Hallo"),
        ]);
        let p = products();
        let e = render(&t, &["de-CH", "en"], &values(Some("Ada"), &p, "A"));
        assert_eq!(
            (e.language.as_str(), e.subject.as_str()),
            ("de", "Willkommen, Ada")
        );
        let e = render(&t, &["ja"], &values(Some("Ada"), &p, "A"));
        assert_eq!(e.language, "en");
        let e = render(&t, &["fr", "de"], &values(Some("Ada"), &p, "A"));
        assert_eq!(e.language, "de", "the second preference before English");
    }
}
