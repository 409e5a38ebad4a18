//! PATCH paths: `[schema:]attr[filter].sub` and the simple filters they carry.

use super::*;

pub(super) fn valid_attr(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

/// Parses a PATCH path.
pub fn parse_path(p: &str) -> Result<Path, ScimError> {
    let p = p.trim();
    if p.len() > MAX_PATH_LEN {
        return Err(ScimError::invalid_path("path is too long"));
    }
    // a schema URN prefix: everything up to the last ':' before the attribute
    let (schema, rest) = if p.len() > 4
        && p.get(..4)
            .is_some_and(|head| head.eq_ignore_ascii_case("urn:"))
    {
        let head = p.split('[').next().unwrap_or(p);
        match head.rfind(':') {
            Some(i) => (Some(p[..i].to_owned()), &p[i + 1..]),
            None => return Err(ScimError::invalid_path("malformed schema-qualified path")),
        }
    } else {
        (None, p)
    };
    let (attr_part, filter, after) = match rest.find('[') {
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| ScimError::invalid_path("unbalanced [ ] in path"))?;
            let filter = parse_simple_filter(&rest[open + 1..close])?;
            (&rest[..open], Some(filter), &rest[close + 1..])
        }
        None => (rest, None, ""),
    };
    let (attr, sub) = if filter.is_some() {
        let sub = match after.strip_prefix('.') {
            Some(s) => Some(s.to_owned()),
            None if after.is_empty() => None,
            None => return Err(ScimError::invalid_path("unexpected text after ]")),
        };
        (attr_part.to_owned(), sub)
    } else {
        match attr_part.split_once('.') {
            Some((a, s)) => (a.to_owned(), Some(s.to_owned())),
            None => (attr_part.to_owned(), None),
        }
    };
    if !valid_attr(&attr) || sub.as_deref().is_some_and(|s| !valid_attr(s)) {
        return Err(ScimError::invalid_path(format!(
            "unsupported path attribute in {p:?}"
        )));
    }
    Ok(Path {
        schema,
        attr,
        filter,
        sub,
    })
}

/// `subAttr eq "value"`: the value-path filters identity providers send.
pub(super) fn parse_simple_filter(f: &str) -> Result<(String, String), ScimError> {
    let f = f.trim();
    let mut parts = f.splitn(3, char::is_whitespace);
    let (Some(attr), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ScimError::invalid_filter(
            "expected `attribute eq \"value\"` in the path filter",
        ));
    };
    if !op.eq_ignore_ascii_case("eq") || !valid_attr(attr) {
        return Err(ScimError::invalid_filter(
            "only `attribute eq \"value\"` is supported in a path filter",
        ));
    }
    let value = value.trim();
    let value = match serde_json::from_str::<Value>(value) {
        Ok(Value::String(s)) => s,
        Ok(Value::Bool(b)) => b.to_string(),
        Ok(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ScimError::invalid_filter(
                "the path filter value must be a quoted string",
            ));
        }
    };
    Ok((attr.to_owned(), value))
}
