//! SCIM filters (RFC 7644 §3.4.2.2): a tokenizer and a recursive-descent
//! parser for the full grammar (`eq ne co sw ew pr gt ge lt le`, `and or not`,
//! grouping, value paths, schema-qualified attributes), and their evaluation
//! against a JSON resource.
//!
//! Limits are checked before work: the length of the filter and the nesting
//! depth (before recursing), so that hostile input gets `invalidFilter`,
//! never a stack overflow.

use serde_json::Value;

use super::ScimError;

/// Longest accepted filter, in bytes.
pub const MAX_FILTER_LEN: usize = 2048;
/// Deepest accepted nesting of `( )`, `not` and `[ ]`.
pub const MAX_DEPTH: usize = 16;

/// `[schema:]attr[.sub]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    fn is(&self, attr: &str) -> bool {
        self.schema.is_none() && self.sub.is_none() && self.attr.eq_ignore_ascii_case(attr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value: `false`, `null`, `true`, a number or a string.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Bool(bool),
    Null,
    Number(f64),
    String(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// An equality a lookup index answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexHint<'a> {
    UserName(&'a str),
    Id(&'a str),
    ExternalId(&'a str),
    Email(&'a str),
    DisplayName(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Number(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `].sub` continues a value path with a sub-attribute.
    DotWord(String),
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::invalid_filter(detail)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-' | b'$')
}

/// The end of the run of word bytes starting at `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| !is_word_byte(*b))
        .map_or(bytes.len(), |n| start + n)
}

/// Splits a filter into tokens. Every byte that separates or starts a token
/// is ASCII, so the input is read as bytes and each token taken as one slice
/// (a multi-byte character can only be inside a quoted string, or an error).
fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => i += 1,
            b'(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            b')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            b'[' => {
                tokens.push(Token::LBracket);
                i += 1;
            }
            b']' => {
                tokens.push(Token::RBracket);
                i += 1;
                if bytes.get(i) == Some(&b'.') {
                    let start = i + 1;
                    let end = word_end(bytes, start);
                    if end == start {
                        return Err(invalid("expected a sub-attribute after ']."));
                    }
                    tokens.push(Token::DotWord(input[start..end].to_owned()));
                    i = end;
                }
            }
            b'"' => {
                // a JSON string: find its end honouring escapes, then decode
                let start = i;
                i += 1;
                let mut closed = false;
                let mut plain = true;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => {
                            plain = false;
                            i += 2;
                        }
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        c if c < 0x20 => {
                            // JSON refuses raw control characters
                            return Err(invalid("malformed string"));
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    return Err(invalid("unterminated string"));
                }
                if plain {
                    // nothing to decode: the characters between the quotes
                    tokens.push(Token::Str(input[start + 1..i - 1].to_owned()));
                } else {
                    let raw = input.get(start..i.min(bytes.len())).unwrap_or_default();
                    match serde_json::from_str::<Value>(raw) {
                        Ok(Value::String(s)) => tokens.push(Token::Str(s)),
                        _ => return Err(invalid("malformed string")),
                    }
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit()
                        || matches!(bytes[i], b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    i += 1;
                }
                let raw = &input[start..i];
                let n: f64 = raw
                    .parse()
                    .map_err(|_| invalid(format!("malformed number {raw:?}")))?;
                if !n.is_finite() {
                    return Err(invalid("number out of range"));
                }
                tokens.push(Token::Number(n));
            }
            c if is_word_byte(c) => {
                let end = word_end(bytes, i);
                tokens.push(Token::Word(input[i..end].to_owned()));
                i = end;
            }
            _ => {
                let other = input[i..].chars().next().unwrap_or_default();
                if other.is_whitespace() {
                    // other Unicode white space separates tokens too
                    i += other.len_utf8();
                    continue;
                }
                return Err(invalid(format!("unexpected character {other:?}")));
            }
        }
    }
    Ok(tokens)
}

fn parse_attr_path(word: &str) -> Result<AttrPath, ScimError> {
    let (schema, rest) = if word.len() > 4 && word[..4].eq_ignore_ascii_case("urn:") {
        match word.rfind(':') {
            Some(i) if i + 1 < word.len() => (Some(word[..i].to_owned()), &word[i + 1..]),
            _ => return Err(invalid("malformed schema-qualified attribute")),
        }
    } else {
        (None, word)
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    let valid = |s: &str| {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if !valid(attr) || sub.is_some_and(|s| !valid(s)) {
        return Err(invalid(format!("not an attribute path: {word:?}")));
    }
    Ok(AttrPath {
        schema,
        attr: attr.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

fn compare_op(word: &str) -> Option<CompareOp> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// Takes the next token. The parser never looks back, so the token is
    /// moved out (a closing parenthesis is left in its place) rather than
    /// copied.
    fn next(&mut self) -> Option<Token> {
        let t = self
            .tokens
            .get_mut(self.pos)
            .map(|t| std::mem::replace(t, Token::RParen));
        self.pos += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn expect(&mut self, want: &Token, what: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            _ => Err(invalid(format!("expected {what}"))),
        }
    }

    /// or-expression: and-expression ("or" and-expression)*
    fn or(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// and-expression: unary ("and" unary)*
    fn and(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth >= MAX_DEPTH {
            return Err(invalid(format!(
                "filter nests deeper than {MAX_DEPTH} levels"
            )));
        }
        if self.keyword("not") {
            self.pos += 1;
            self.expect(&Token::LParen, "'(' after not")?;
            let inner = self.or(depth + 1)?;
            self.expect(&Token::RParen, "')'")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(&Token::RParen, "')'")?;
            return Ok(inner);
        }
        let Some(Token::Word(word)) = self.next() else {
            return Err(invalid("expected an attribute"));
        };
        let path = parse_attr_path(&word)?;
        if self.peek() == Some(&Token::LBracket) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(&Token::RBracket, "']'")?;
            if let Some(Token::DotWord(sub)) = self.peek().cloned() {
                // `emails[type eq "work"].value eq "x"`: the comparison applies
                // to the same element as the bracketed filter
                self.pos += 1;
                let sub_path = AttrPath {
                    schema: None,
                    attr: sub,
                    sub: None,
                };
                let cmp = self.comparison(sub_path)?;
                return Ok(Filter::ValuePath {
                    path,
                    filter: Box::new(Filter::And(Box::new(inner), Box::new(cmp))),
                });
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        let Some(Token::Word(op)) = self.next() else {
            return Err(invalid("expected an operator"));
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = compare_op(&op).ok_or_else(|| invalid(format!("unknown operator {op:?}")))?;
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::String(s),
            Some(Token::Number(n)) => CompValue::Number(n),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            _ => {
                return Err(invalid(
                    "expected a value: a quoted string, a number, true, false or null",
                ));
            }
        };
        // a userName is compared in the form it is kept in
        let value = match value {
            CompValue::String(s)
                if path.is("userName") && matches!(op, CompareOp::Eq | CompareOp::Ne) =>
            {
                CompValue::String(super::user::canonical_user_name(&s).unwrap_or(s))
            }
            v => v,
        };
        Ok(Filter::Compare { path, op, value })
    }
}

/// Parses a filter, checking its length and depth first.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(invalid(format!(
            "filter is longer than {MAX_FILTER_LEN} bytes"
        )));
    }
    // a cheap depth bound before any recursion: every level opens a bracket
    let mut open = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for c in input.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' | '[' if !in_string => {
                open += 1;
                deepest = deepest.max(open);
            }
            ')' | ']' if !in_string => open = open.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_DEPTH {
        return Err(invalid(format!(
            "filter nests deeper than {MAX_DEPTH} levels"
        )));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(invalid("empty filter"));
    }
    let mut parser = Parser { tokens, pos: 0 };
    let filter = parser.or(0)?;
    if parser.pos < parser.tokens.len() {
        return Err(invalid("unexpected text after the filter"));
    }
    Ok(filter)
}

/// Whether an attribute's strings compare case-sensitively (`caseExact` in
/// `/Schemas`, RFC 7643 §2.2): ids and references do (`id`, `externalId`,
/// the `value` of `members`, `groups` and `manager`, and `$ref`); every other
/// string, `emails.value` among them, compares ignoring case. `parent` is
/// the multi-valued attribute a value filter (`emails[...]`) looks into.
fn case_exact(parent: Option<&str>, path: &AttrPath) -> bool {
    let (attr, sub) = match parent {
        Some(p) => (p, Some(path.attr.as_str())),
        None => (path.attr.as_str(), path.sub.as_deref()),
    };
    let one_of = |name: &str, list: &[&str]| list.iter().any(|l| l.eq_ignore_ascii_case(name));
    match sub {
        // a multi-valued attribute without a sub-attribute compares its `value`
        None => one_of(attr, &["id", "externalId", "members", "groups"]),
        Some(sub) => {
            sub.eq_ignore_ascii_case("$ref")
                || (sub.eq_ignore_ascii_case("value")
                    && one_of(attr, &["members", "groups", "manager"]))
        }
    }
}

fn lookup<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object().and_then(|o| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The values an attribute path names in a resource (flattening arrays).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let container = match &path.schema {
        Some(schema)
            if schema.eq_ignore_ascii_case(super::USER_SCHEMA)
                || schema.eq_ignore_ascii_case(super::GROUP_SCHEMA) =>
        {
            Some(resource)
        }
        Some(schema) => lookup(resource, schema),
        None => Some(resource),
    };
    let Some(top) = container.and_then(|c| lookup(c, &path.attr)) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        Some(sub) => items.into_iter().filter_map(|i| lookup(i, sub)).collect(),
        // a multi-valued complex attribute compares by its `value`
        None => items
            .into_iter()
            .map(|i| {
                if i.is_object() {
                    lookup(i, "value").unwrap_or(i)
                } else {
                    i
                }
            })
            .collect(),
    }
}

/// Booleans (and mismatched types) only support equality.
fn eq_ne(op: CompareOp, equal: bool) -> bool {
    match op {
        CompareOp::Eq => equal,
        CompareOp::Ne => !equal,
        _ => false,
    }
}

fn compare_one(v: &Value, op: CompareOp, want: &CompValue, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = |o: Ordering| match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    };
    match (v, want) {
        (Value::String(have), CompValue::String(want)) => {
            let (have, want) = if case_exact {
                (have.clone(), want.clone())
            } else {
                (have.to_lowercase(), want.to_lowercase())
            };
            match op {
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                _ => ordering(have.cmp(&want)),
            }
        }
        (Value::Bool(have), CompValue::Bool(want)) => eq_ne(op, have == want),
        // Entra's "True"/"False" strings compare with booleans
        (Value::String(have), CompValue::Bool(want)) => {
            eq_ne(op, have.eq_ignore_ascii_case("true") == *want)
        }
        (Value::Number(have), CompValue::Number(want)) => {
            match have.as_f64().and_then(|h| h.partial_cmp(want)) {
                Some(o) => ordering(o),
                None => false,
            }
        }
        (Value::Null, CompValue::Null) => matches!(op, CompareOp::Eq),
        (_, CompValue::Null) => matches!(op, CompareOp::Ne),
        _ => matches!(op, CompareOp::Ne),
    }
}

impl Filter {
    /// Whether the filter names `attr` (a top-level attribute, in any
    /// schema), anywhere in it.
    pub fn names(&self, attr: &str) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.names(attr) || b.names(attr),
            Filter::Not(f) => f.names(attr),
            Filter::Present(path) | Filter::Compare { path, .. } => {
                path.attr.eq_ignore_ascii_case(attr)
            }
            Filter::ValuePath { path, .. } => path.attr.eq_ignore_ascii_case(attr),
        }
    }

    /// Whether a resource (its SCIM JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        self.matches_in(resource, None)
    }

    /// `parent`: the multi-valued attribute whose element `resource` is,
    /// inside a value filter.
    fn matches_in(&self, resource: &Value, parent: Option<&str>) -> bool {
        match self {
            Filter::And(a, b) => a.matches_in(resource, parent) && b.matches_in(resource, parent),
            Filter::Or(a, b) => a.matches_in(resource, parent) || b.matches_in(resource, parent),
            Filter::Not(f) => !f.matches_in(resource, parent),
            Filter::Present(path) => values(resource, path).iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Filter::Compare { path, op, value } => {
                let case_exact = case_exact(parent, path);
                let found = values(resource, path);
                if found.is_empty() {
                    return *op == CompareOp::Ne
                        || (*value == CompValue::Null && *op == CompareOp::Eq);
                }
                if *op == CompareOp::Ne {
                    return found
                        .iter()
                        .all(|v| compare_one(v, CompareOp::Ne, value, case_exact));
                }
                found.iter().any(|v| compare_one(v, *op, value, case_exact))
            }
            Filter::ValuePath { path, filter } => {
                let container = match &path.schema {
                    Some(schema) => lookup(resource, schema),
                    None => Some(resource),
                };
                let inner = Some(path.attr.as_str());
                match container.and_then(|c| lookup(c, &path.attr)) {
                    Some(Value::Array(items)) => {
                        items.iter().any(|item| filter.matches_in(item, inner))
                    }
                    Some(item @ Value::Object(_)) => filter.matches_in(item, inner),
                    _ => false,
                }
            }
        }
    }

    /// An equality that a lookup index can answer, in this filter or in a
    /// top-level chain of `and`s. The caller still evaluates the whole filter
    /// on what the index returns.
    pub fn index_hint(&self) -> Option<IndexHint<'_>> {
        match self {
            Filter::And(a, b) => a.index_hint().or_else(|| b.index_hint()),
            Filter::ValuePath { path, filter }
                if path.schema.is_none()
                    && path.sub.is_none()
                    && path.attr.eq_ignore_ascii_case("emails") =>
            {
                filter.equality_in_chain("value").map(IndexHint::Email)
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::String(v),
            } if path.schema.is_none()
                && path.attr.eq_ignore_ascii_case("emails")
                && path
                    .sub
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("value")) =>
            {
                Some(IndexHint::Email(v))
            }
            f => f
                .equality_on("userName")
                .map(IndexHint::UserName)
                .or_else(|| f.equality_on("id").map(IndexHint::Id))
                .or_else(|| f.equality_on("externalId").map(IndexHint::ExternalId))
                .or_else(|| f.equality_on("displayName").map(IndexHint::DisplayName)),
        }
    }

    fn equality_in_chain(&self, attr: &str) -> Option<&str> {
        match self {
            Filter::And(a, b) => a
                .equality_in_chain(attr)
                .or_else(|| b.equality_in_chain(attr)),
            f => f.equality_on(attr),
        }
    }

    /// `attr eq "value"` on a top-level, unqualified attribute: the value.
    pub fn equality_on(&self, attr: &str) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::String(v),
            } if path.is(attr) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ada() -> Value {
        json!({
            "id": "u1",
            "userName": "Ada@Example.com",
            "externalId": "00uA",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"type": "work", "value": "ada@example.com", "primary": true}, {"type": "home", "value": "ada@home.example"}],
            "meta": {"lastModified": "2026-01-02T00:00:00.000Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42", "manager": {"value": "boss"}},
            "members": [{"value": "x1"}]
        })
    }

    fn m(f: &str) -> bool {
        parse_filter(f).unwrap().matches(&ada())
    }

    #[test]
    fn every_operator() {
        assert!(m(r#"userName eq "ada@example.com""#));
        assert!(m(r#"userName ne "bob""#));
        assert!(m(r#"userName co "EXAMPLE""#));
        assert!(m(r#"userName sw "ada""#));
        assert!(m(r#"userName ew ".com""#));
        assert!(m("externalId pr"));
        assert!(!m("title pr"));
        assert!(m(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
        assert!(m(r#"meta.lastModified ge "2026-01-02T00:00:00.000Z""#));
        assert!(m(r#"meta.lastModified lt "2027""#));
        assert!(m(r#"meta.lastModified le "2026-01-02T00:00:00.000Z""#));
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
    }

    #[test]
    fn logic_grouping_and_precedence() {
        assert!(m(
            r#"userName eq "x" or name.givenName eq "Ada" and active eq true"#
        ));
        assert!(!m(
            r#"(userName eq "x" or name.givenName eq "Ada") and active eq false"#
        ));
        assert!(m(r#"not (userName eq "x")"#));
        assert!(!m(r#"NOT (userName sw "ada")"#));
        assert!(m(
            r#"userName Eq "ADA@example.com" AND externalId EQ "00uA""#
        ));
    }

    #[test]
    fn case_exact_attributes_compare_exactly() {
        assert!(m(r#"externalId eq "00uA""#));
        assert!(!m(r#"externalId eq "00ua""#));
        assert!(m(r#"id eq "u1""#));
        // an email's value ignores case, in a value filter too; members' do not
        assert!(m(r#"emails[type eq "work"].value eq "ADA@EXAMPLE.COM""#));
        assert!(m(r#"emails[value eq "Ada@Example.com"]"#));
        assert!(m(r#"emails.value eq "ADA@HOME.EXAMPLE""#));
        assert!(!m(r#"members[value eq "X1"]"#));
    }

    #[test]
    fn a_filter_says_which_attributes_it_names() {
        let f = parse_filter(r#"userName eq "a" or not (password eq "x")"#).unwrap();
        assert!(f.names("password") && f.names("PASSWORD") && f.names("userName"));
        assert!(!f.names("groups"));
        let f = parse_filter(r#"id eq "g" and not (members[value eq "u"])"#).unwrap();
        assert!(f.names("members"));
        assert!(
            parse_filter(r#"groups.value eq "g""#)
                .unwrap()
                .names("groups")
        );
    }

    #[test]
    fn value_paths_and_extension_attributes() {
        assert!(m(r#"emails[type eq "work" and value co "example.com"]"#));
        assert!(!m(r#"emails[type eq "work" and value co "home"]"#));
        assert!(m(r#"emails[type eq "work"].value eq "ada@example.com""#));
        assert!(!m(r#"emails[type eq "home"].value eq "ada@example.com""#));
        assert!(m(r#"emails.value eq "ada@home.example""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "boss""#
        ));
        assert!(m(r#"members[value eq "x1"]"#));
    }

    #[test]
    fn entra_membership_check_parses() {
        let f = parse_filter(r#"id eq "g1" and members[value eq "u1"]"#).unwrap();
        assert!(matches!(f, Filter::And(..)));
    }

    #[test]
    fn index_hints_for_the_lookups_identity_providers_send() {
        let hint = |f: &str| {
            parse_filter(f)
                .unwrap()
                .index_hint()
                .map(|h| format!("{h:?}"))
        };
        assert_eq!(
            hint(r#"externalId eq "x""#).as_deref(),
            Some(r#"ExternalId("x")"#)
        );
        assert_eq!(
            hint(r#"emails[type eq "work"].value eq "a@b""#).as_deref(),
            Some(r#"Email("a@b")"#)
        );
        assert_eq!(
            hint(r#"emails.value eq "a@b""#).as_deref(),
            Some(r#"Email("a@b")"#)
        );
        assert_eq!(
            hint(r#"displayName eq "Sales""#).as_deref(),
            Some(r#"DisplayName("Sales")"#)
        );
        assert_eq!(
            hint(r#"active eq true and userName eq "u""#).as_deref(),
            Some(r#"UserName("u")"#)
        );
        assert_eq!(hint(r#"userName eq "u" or active eq true"#), None);
        assert_eq!(hint(r#"not (userName eq "u")"#), None);
    }

    #[test]
    fn index_hint() {
        assert_eq!(
            parse_filter(r#"userName eq "a""#)
                .unwrap()
                .equality_on("username"),
            Some("a")
        );
        assert_eq!(
            parse_filter(r#"userName sw "a""#)
                .unwrap()
                .equality_on("userName"),
            None
        );
    }

    #[test]
    fn strings_are_decoded_as_json_strings() {
        let value = |f: &str| match parse_filter(f).unwrap() {
            Filter::Compare {
                value: CompValue::String(s),
                ..
            } => s,
            other => panic!("{other:?}"),
        };
        // taken as they are, or decoded when they hold an escape
        assert_eq!(value(r#"userName eq "ada@example.com""#), "ada@example.com");
        assert_eq!(value(r#"userName eq "Zoë Ångström""#), "Zoë Ångström");
        assert_eq!(value(r#"userName eq "a\"b\u00e9""#), "a\"bé");
        // any Unicode white space separates tokens
        assert_eq!(value("userName\u{a0}eq\u{2003}\"x\""), "x");
        // JSON refuses raw control characters and unknown escapes
        for bad in [
            "userName eq \"a\u{1}b\"",
            r#"userName eq "a\qb""#,
            r#"userName eq "\"#,
        ] {
            assert!(parse_filter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn malformed_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName eq "unterminated"#,
            r#"userName like "x""#,
            r#"(userName eq "x""#,
            r#"userName eq "x")"#,
            r#"emails[type eq "work""#,
            r#"userName eq "x" and"#,
            r#"userName eq "x" garbage"#,
            "userName eq bareword",
            "1 eq 2",
            r#"__proto__.x eq "y""#,
            "userName eq 1e999",
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn hostile_sizes_are_refused_before_recursing() {
        let deep = format!(
            "{}userName eq \"x\"{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(parse_filter(&deep).is_err());
        let nots = format!(
            "{}userName eq \"x\"{}",
            "not (".repeat(1_000),
            ")".repeat(1_000)
        );
        assert!(parse_filter(&nots).is_err());
        let long = format!("userName eq \"{}\"", "a".repeat(100_000));
        assert!(parse_filter(&long).is_err());
        // brackets inside strings do not count as nesting
        assert!(parse_filter(&format!("userName eq \"{}\"", "(".repeat(100))).is_ok());
    }
}
