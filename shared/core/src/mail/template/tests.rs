//! Parsing templates: the limits, the placeholders, the languages.

use super::*;

fn id() -> TemplateId {
    TemplateId::parse("t1").unwrap()
}

fn one(lang: &str, subject: &str, body: &str) -> BTreeMap<String, Variant> {
    BTreeMap::from([(
        lang.to_owned(),
        Variant {
            subject: subject.into(),
            body: body.into(),
        },
    )])
}

fn error(lang: &str, subject: &str, body: &str) -> String {
    EmailTemplate::parse(id(), "Welcome", one(lang, subject, body))
        .unwrap_err()
        .to_string()
}

#[test]
fn tokens_find_exact_placeholders_and_name_what_is_not_one() {
    assert_eq!(
        tokens("Hi {{firstName}}, {{products}}!"),
        vec![
            Token::Text("Hi "),
            Token::Field(Placeholder::FirstName),
            Token::Text(", "),
            Token::Field(Placeholder::Products),
            Token::Text("!"),
        ]
    );
    assert_eq!(tokens("a {b} c"), vec![Token::Text("a {b} c")]);
    assert_eq!(
        tokens("{{ firstName }}"),
        vec![Token::Invalid {
            source: "{{ firstName }}",
            problem: Problem::Spaced(Placeholder::FirstName),
        }]
    );
    for malformed in ["{{\rfirstName}}", "{{first Name}}", "{{\u{202e}firstName}}"] {
        assert_eq!(
            tokens(malformed),
            vec![Token::Invalid {
                source: malformed,
                problem: Problem::Malformed,
            }],
            "{malformed:?}"
        );
    }
}

#[test]
fn an_unknown_placeholder_is_named_with_its_field() {
    let e = error("de", "Hallo {{lastName}}", "x");
    assert!(e.starts_with("variants.de.subject: unknown placeholder {{lastName}}"));
    assert!(e.contains("{{firstName}}, {{products}}, {{loginUrl}}, {{companyName}}"));
    let e = error("de", "Hallo", "a\nb {{FirstName}}");
    assert!(
        e.starts_with("variants.de.body: unknown placeholder {{FirstName}} (line 2)"),
        "{e}"
    );
}

#[test]
fn a_placeholder_is_exactly_its_name_in_braces() {
    // a carriage return inside the braces passed the old check (it was
    // trimmed) and then rendered literally, split over two lines
    let e = error("en", "Hi", "Hello {{\rfirstName}},\nwelcome");
    assert!(
        e.starts_with(
            "variants.en.body: \"{{\\rfirstName}}\" is not a placeholder (line 1): \
             a placeholder is {{name}} with nothing else inside the braces"
        ),
        "{e}"
    );
    assert!(e.contains("the placeholders are {{firstName}}"), "{e}");
    let e = error("en", "Hi {{ firstName }}", "x");
    assert_eq!(
        e,
        "variants.en.subject: \"{{ firstName }}\" is not a placeholder: \
         write {{firstName}}, without spaces inside the braces"
    );
    let e = error("en", "Hi", "one\r\ntwo\r\nthree {{\tproducts}}");
    assert!(
        e.starts_with("variants.en.body: \"{{\\tproducts}}\" is not a placeholder (line 3)"),
        "{e}"
    );
    for (body, shown) in [
        ("{{firstName\n}}", "{{firstName\\n}}"),
        ("{{\u{202e}firstName}}", "{{\\u{202e}firstName}}"),
        ("{{firstName\u{200b}}}", "{{firstName\\u{200b}}}"),
        ("{{first Name}}", "{{first Name}}"),
        ("{{\u{a0}loginUrl}}", "{{\u{a0}loginUrl}}"),
    ] {
        let e = error("en", "Hi", body);
        assert!(
            e.starts_with(&format!(
                "variants.en.body: \"{shown}\" is not a placeholder"
            )),
            "{body:?}: {e}"
        );
    }
    // a long piece of text between the braces is quoted cut short
    let e = error("en", "Hi", &format!("{{{{ {} }}}}", "x ".repeat(500)));
    assert!(e.contains("…\" is not a placeholder"), "{e}");
    assert!(e.len() < 400, "{e}");
}

#[test]
fn unbalanced_braces_are_refused() {
    assert_eq!(
        error("en", "Hi {{firstName", "x"),
        "variants.en.subject: unbalanced braces: \"{{\" without \"}}\""
    );
    assert_eq!(
        error("en", "Hi", "one\ntwo }} three"),
        "variants.en.body: unbalanced braces: \"}}\" without \"{{\" (line 2)"
    );
    assert!(error("en", "Hi", "{{ first {{firstName}}").contains("unbalanced braces"));
    // a placeholder cannot span lines
    assert!(error("en", "Hi", "{{first\nName}}").contains("is not a placeholder (line 1)"));
    assert!(error("en", "Hi", "a\n{{firstName").ends_with("(line 2)"));
}

#[test]
fn the_subject_is_one_line_and_sizes_are_bounded() {
    assert!(error("en", "Hi\r\nBcc: x", "x").starts_with("variants.en.subject: must be one line"));
    assert!(error("en", &"s".repeat(201), "x").starts_with("variants.en.subject: 1 to 200"));
    assert!(error("en", "s", &"b".repeat(10_001)).starts_with("variants.en.body: 1 to 10000"));
    assert!(error("en", "s", "a\u{7}b").starts_with("variants.en.body: control"));
    let long_name = EmailTemplate::parse(id(), &"n".repeat(101), one("en", "s", "b"));
    assert_eq!(long_name.unwrap_err().field, "name");
    let too_many: BTreeMap<String, Variant> = (0..21)
        .map(|i| {
            (
                format!("x{}", char::from(b'a' + i)),
                Variant {
                    subject: "s".into(),
                    body: "b".into(),
                },
            )
        })
        .collect();
    let e = EmailTemplate::parse(id(), "n", too_many).unwrap_err();
    assert_eq!(e.field, "variants");
    assert_eq!(
        EmailTemplate::parse(id(), "n", BTreeMap::new())
            .unwrap_err()
            .field,
        "variants"
    );
}

#[test]
fn language_tags_are_checked_and_put_in_their_usual_case() {
    assert_eq!(canonical_language("pt-br").as_deref(), Some("pt-BR"));
    assert_eq!(
        canonical_language("ZH-hant-tw").as_deref(),
        Some("zh-Hant-TW")
    );
    assert_eq!(canonical_language("es-419").as_deref(), Some("es-419"));
    for bad in [
        "",
        "d",
        "deutsch",
        "de_DE",
        "de-",
        "de--x",
        "1a",
        "de-toolongsubtag",
    ] {
        assert_eq!(canonical_language(bad), None, "{bad}");
    }
    assert_eq!(
        error("de_DE", "s", "b"),
        "variants.de_DE: not a language tag such as \"de\" or \"pt-BR\""
    );
    let mut twice = one("pt-BR", "s", "b");
    twice.extend(one("pt-br", "s", "b"));
    let e = EmailTemplate::parse(id(), "n", twice).unwrap_err();
    assert!(e.reason.contains("same language"), "{e}");
    let t = EmailTemplate::parse(id(), "  n  ", one("pt-br", " s ", "b")).unwrap();
    assert_eq!(t.name, "n");
    assert_eq!(t.languages(), ["pt-BR"]);
    assert_eq!(t.variants["pt-BR"].subject, "s");
}

#[test]
fn variants_are_chosen_by_tag_then_primary_language_then_english() {
    let mut v = one("en", "en", "b");
    v.extend(one("de", "de", "b"));
    v.extend(one("pt-BR", "pt", "b"));
    v.extend(one("fr-CA", "fr-CA", "b"));
    v.extend(one("fr", "fr", "b"));
    let t = EmailTemplate::parse(id(), "n", v).unwrap();
    let pick = |p: &[&str]| t.variant(p).unwrap().0.to_owned();
    assert_eq!(pick(&["de"]), "de");
    assert_eq!(pick(&["DE-at"]), "de");
    assert_eq!(pick(&["de_CH"]), "de");
    assert_eq!(pick(&["pt"]), "pt-BR");
    assert_eq!(pick(&["pt-PT"]), "pt-BR");
    assert_eq!(pick(&["fr-ca"]), "fr-CA");
    assert_eq!(pick(&["fr-BE"]), "fr");
    assert_eq!(pick(&["ja", "de"]), "de");
    assert_eq!(pick(&["ja"]), "en");
    assert_eq!(pick(&[]), "en");
    let only_german = EmailTemplate::parse(id(), "n", one("de", "s", "b")).unwrap();
    assert_eq!(only_german.variant(&["ja"]).unwrap().0, "de");
}
