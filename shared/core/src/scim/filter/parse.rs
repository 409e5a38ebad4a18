//! Tokenizing and parsing a filter (recursive descent, bounded first).

use super::*;

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
                CompValue::String(crate::scim::user::canonical_user_name(&s).unwrap_or(s))
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn entra_membership_check_parses() {
        let f = parse_filter(r#"id eq "g1" and members[value eq "u1"]"#).unwrap();
        assert!(matches!(f, Filter::And(..)));
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
}
