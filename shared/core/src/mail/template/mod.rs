//! Welcome-email templates: a name and, per language, a plain-text subject
//! and body with placeholders. [`EmailTemplate::parse`] is the only way in
//! for admin input; it names the field of every problem it finds.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::TemplateId;
use crate::text::is_hidden;

/// Longest template name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;
/// Most language variants per template.
pub const MAX_VARIANTS: usize = 20;
/// Most UTF-8 bytes of all subjects and bodies together (a stored item must
/// stay far below DynamoDB's 400 KB).
pub const MAX_TEXT_BYTES: usize = 100_000;
/// Longest language tag.
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// A value the renderer substitutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    FirstName,
    Products,
    LoginUrl,
    CompanyName,
}

impl Placeholder {
    pub const ALL: [Placeholder; 4] = [
        Placeholder::FirstName,
        Placeholder::Products,
        Placeholder::LoginUrl,
        Placeholder::CompanyName,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::FirstName => "firstName",
            Placeholder::Products => "products",
            Placeholder::LoginUrl => "loginUrl",
            Placeholder::CompanyName => "companyName",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What is wrong with a piece of template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// `{{lastName}}`: braces around a name that is not a placeholder.
    Unknown(String),
    /// `{{ firstName }}`: a placeholder's name with spaces around it inside
    /// the braces. Refused by validation; templates saved before that rule
    /// still render it as the placeholder.
    Spaced(Placeholder),
    /// `{{\rfirstName}}`, `{{first Name}}`: line breaks, other control or
    /// format characters, or spaces within the name.
    Malformed,
    Unclosed,
    StrayClose,
}

impl Problem {
    /// The placeholder the renderer still substitutes for this text: a
    /// spaced placeholder of a template saved before validation refused it.
    pub(crate) fn placeholder(&self) -> Option<Placeholder> {
        match self {
            Problem::Spaced(p) => Some(*p),
            _ => None,
        }
    }
}

/// One piece of template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    Text(&'a str),
    Field(Placeholder),
    /// Text that is not a valid placeholder: refused by validation, rendered
    /// literally (and escaped) should it ever reach the renderer, except a
    /// spaced placeholder of a template saved before the rule.
    Invalid {
        source: &'a str,
        problem: Problem,
    },
}

/// What the text between `{{` and `}}` is: exactly a placeholder's name
/// (`{{firstName}}`), or not one and why.
fn classify(inside: &str) -> Result<Placeholder, Problem> {
    if let Some(p) = Placeholder::from_name(inside) {
        return Ok(p);
    }
    if inside.chars().any(is_hidden) {
        return Err(Problem::Malformed);
    }
    if let Some(p) = Placeholder::from_name(inside.trim()) {
        return Err(Problem::Spaced(p));
    }
    if inside.chars().any(char::is_whitespace) {
        return Err(Problem::Malformed);
    }
    Err(Problem::Unknown(inside.to_owned()))
}

/// Splits text into literal text and placeholders. A placeholder is exactly
/// `{{name}}` with one of [`Placeholder::ALL`]'s names; any other text
/// between `{{` and the next `}}` is an [`Token::Invalid`] naming why, as is
/// a `{{` without `}}` or a `}}` without `{{`. Single braces are ordinary
/// text.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let open = rest.find("{{");
        let close = rest.find("}}");
        if let Some(c) = close.filter(|c| open.is_none_or(|o| *c < o)) {
            if c > 0 {
                out.push(Token::Text(&rest[..c]));
            }
            out.push(Token::Invalid {
                source: &rest[c..c + 2],
                problem: Problem::StrayClose,
            });
            rest = &rest[c + 2..];
            continue;
        }
        let Some(o) = open else {
            if !rest.is_empty() {
                out.push(Token::Text(rest));
            }
            return out;
        };
        if o > 0 {
            out.push(Token::Text(&rest[..o]));
        }
        let after = &rest[o + 2..];
        let end = after.find("}}");
        let nested = after.find("{{");
        match end {
            Some(e) if nested.is_none_or(|n| e < n) => {
                out.push(match classify(&after[..e]) {
                    Ok(p) => Token::Field(p),
                    Err(problem) => Token::Invalid {
                        source: &rest[o..o + 2 + e + 2],
                        problem,
                    },
                });
                rest = &after[e + 2..];
            }
            _ => {
                out.push(Token::Invalid {
                    source: &rest[o..o + 2],
                    problem: Problem::Unclosed,
                });
                rest = after;
            }
        }
    }
}

/// A problem with a template, naming the field it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct TemplateError {
    pub field: String,
    pub reason: String,
}

impl TemplateError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

fn placeholder_list() -> String {
    let names: Vec<String> = Placeholder::ALL
        .iter()
        .map(|p| format!("{{{{{}}}}}", p.name()))
        .collect();
    names.join(", ")
}

/// Longest piece of refused text a message quotes, in characters.
const QUOTE_CHARS: usize = 40;

/// Refused text as a message quotes it: control and format characters
/// escaped (`\r`, `\u{202e}`), cut to [`QUOTE_CHARS`].
fn quote(source: &str) -> String {
    let mut out = String::new();
    for (n, c) in source.chars().enumerate() {
        if n == QUOTE_CHARS {
            out.push('…');
            break;
        }
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The line (from 1) a byte offset is on; `\r\n`, `\r` and `\n` each end
/// a line, as the renderer reads them.
fn line_at(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    1 + before.matches(['\r', '\n']).count() - before.matches("\r\n").count()
}

/// Checks the placeholders and braces of a text.
fn check_placeholders(field: &str, text: &str) -> Result<(), TemplateError> {
    let lines = text.contains(['\r', '\n']);
    let mut offset = 0;
    for t in tokens(text) {
        let source = match &t {
            Token::Text(s) | Token::Invalid { source: s, .. } => *s,
            Token::Field(p) => {
                offset += p.name().len() + 4;
                continue;
            }
        };
        let at = if lines {
            format!(" (line {})", line_at(text, offset))
        } else {
            String::new()
        };
        offset += source.len();
        let Token::Invalid { problem, .. } = t else {
            continue;
        };
        let reason = match problem {
            Problem::Unknown(name) => format!(
                "unknown placeholder {{{{{}}}}}{at}; the placeholders are {}",
                quote(&name),
                placeholder_list()
            ),
            Problem::Spaced(p) => format!(
                "\"{}\" is not a placeholder{at}: write {p}, without spaces inside the braces",
                quote(source)
            ),
            Problem::Malformed => format!(
                "\"{}\" is not a placeholder{at}: a placeholder is {{{{name}}}} with nothing else \
                 inside the braces (no spaces, line breaks or other control characters); \
                 the placeholders are {}",
                quote(source),
                placeholder_list()
            ),
            Problem::Unclosed => format!("unbalanced braces: \"{{{{\" without \"}}}}\"{at}"),
            Problem::StrayClose => format!("unbalanced braces: \"}}}}\" without \"{{{{\"{at}"),
        };
        return Err(TemplateError::new(field, reason));
    }
    Ok(())
}

/// A language tag such as `de` or `pt-BR` (BCP 47: a primary language of 2
/// or 3 letters, then subtags of 1 to 8 letters or digits), in its usual
/// case: `pt-br` becomes `pt-BR`, `zh-hant` becomes `zh-Hant`.
pub fn canonical_language(tag: &str) -> Option<String> {
    if tag.is_empty() || tag.chars().count() > MAX_LANGUAGE_CHARS {
        return None;
    }
    let mut parts = tag.split('-');
    let primary = parts.next()?;
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = primary.to_ascii_lowercase();
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        out.push('-');
        let region = (part.len() == 2 && part.bytes().all(|b| b.is_ascii_alphabetic()))
            || (part.len() == 3 && part.bytes().all(|b| b.is_ascii_digit()));
        let script = part.len() == 4 && part.bytes().all(|b| b.is_ascii_alphabetic());
        if region {
            out.push_str(&part.to_ascii_uppercase());
        } else if script {
            out.push_str(&part[..1].to_ascii_uppercase());
            out.push_str(&part[1..].to_ascii_lowercase());
        } else {
            out.push_str(&part.to_ascii_lowercase());
        }
    }
    Some(out)
}

/// The primary language of a tag or locale (`de` of `de-AT` or `de_AT`).
fn primary(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// One language's subject and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub subject: String,
    pub body: String,
}

/// A welcome-email template: per-language variants, keyed by language tag
/// in its canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailTemplate {
    pub id: TemplateId,
    pub name: String,
    pub variants: BTreeMap<String, Variant>,
}

impl EmailTemplate {
    /// Checks admin input and builds a template: the name, every language
    /// tag, every subject (one line) and body, their placeholders and sizes.
    pub fn parse(
        id: TemplateId,
        name: &str,
        variants: BTreeMap<String, Variant>,
    ) -> Result<Self, TemplateError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(TemplateError::new(
                "name",
                format!("1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(TemplateError::new(
                "name",
                "must be one line without control characters",
            ));
        }
        if variants.is_empty() || variants.len() > MAX_VARIANTS {
            return Err(TemplateError::new(
                "variants",
                format!(
                    "1 to {MAX_VARIANTS} languages, such as {{\"en\": {{\"subject\": \"…\", \"body\": \"…\"}}}}"
                ),
            ));
        }
        let mut out: BTreeMap<String, Variant> = BTreeMap::new();
        let mut bytes = 0;
        for (tag, v) in variants {
            let Some(lang) = canonical_language(&tag) else {
                return Err(TemplateError::new(
                    format!("variants.{tag}"),
                    "not a language tag such as \"de\" or \"pt-BR\"",
                ));
            };
            if out.contains_key(&lang) {
                return Err(TemplateError::new(
                    format!("variants.{tag}"),
                    format!("the same language as another variant ({lang})"),
                ));
            }
            let field = |part: &str| format!("variants.{tag}.{part}");
            let subject = v.subject.trim();
            if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
                return Err(TemplateError::new(
                    field("subject"),
                    format!("1 to {MAX_SUBJECT_CHARS} characters"),
                ));
            }
            if subject.chars().any(char::is_control) {
                return Err(TemplateError::new(
                    field("subject"),
                    "must be one line: no line breaks or other control characters",
                ));
            }
            check_placeholders(&field("subject"), subject)?;
            if v.body.trim().is_empty() || v.body.chars().count() > MAX_BODY_CHARS {
                return Err(TemplateError::new(
                    field("body"),
                    format!("1 to {MAX_BODY_CHARS} characters"),
                ));
            }
            if v.body
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(TemplateError::new(
                    field("body"),
                    "control characters other than line breaks and tabs are not allowed",
                ));
            }
            check_placeholders(&field("body"), &v.body)?;
            bytes += subject.len() + v.body.len();
            out.insert(
                lang,
                Variant {
                    subject: subject.to_owned(),
                    body: v.body,
                },
            );
        }
        if bytes > MAX_TEXT_BYTES {
            return Err(TemplateError::new(
                "variants",
                format!("at most {MAX_TEXT_BYTES} bytes of text in all"),
            ));
        }
        Ok(Self {
            id,
            name: name.to_owned(),
            variants: out,
        })
    }

    /// The languages it has.
    pub fn languages(&self) -> Vec<&str> {
        self.variants.keys().map(String::as_str).collect()
    }

    /// The variant for the first of `preferred` it has (the exact tag, else
    /// one of the same primary language, ignoring case), else English, else
    /// its first variant; `None` only for a template without variants.
    pub fn variant(&self, preferred: &[&str]) -> Option<(&str, &Variant)> {
        let exact = |want: &str| {
            self.variants
                .iter()
                .find(|(tag, _)| tag.eq_ignore_ascii_case(&want.replace('_', "-")))
        };
        let same_primary = |want: &str| {
            let p = primary(want);
            exact(&p).or_else(|| self.variants.iter().find(|(tag, _)| primary(tag) == p))
        };
        preferred
            .iter()
            .chain(std::iter::once(&"en"))
            .filter(|w| !w.trim().is_empty())
            .find_map(|w| exact(w.trim()).or_else(|| same_primary(w.trim())))
            .or_else(|| self.variants.iter().next())
            .map(|(tag, v)| (tag.as_str(), v))
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{{}}}}}", self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
