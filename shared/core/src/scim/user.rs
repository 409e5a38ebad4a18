//! SCIM Users: the typed facts we derive from a resource, and its rendering.

use serde_json::{Map, Value, json};

#[cfg(test)]
use super::MAX_MULTI_VALUES;
use super::{ENTERPRISE_USER_SCHEMA, ScimError, USER_SCHEMA, etag, lenient_bool, opt_string};
use crate::directory::DirectoryUser;

/// What a SCIM User resource says, in typed form, plus the resource itself
/// (normalized, without `id` and `meta`) to store and return.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub locale: Option<String>,
    pub attributes: Value,
}

/// Attributes the service owns; a client's value for them is ignored.
const READ_ONLY: [&str; 3] = ["id", "meta", "groups"];

/// Attributes the served schemas mark `mutability: writeOnly`, `returned:
/// never` (RFC 7643 §4.1.1: `password`). A client may send them; they are
/// discarded on arrival, so they are never stored, returned, logged, put in
/// a stream record or a job.
pub const NEVER_RETURNED: [&str; 1] = ["password"];

/// Removes the [`NEVER_RETURNED`] attributes from a resource (a request
/// body, or stored attributes written by an earlier version); `true` when
/// there was one to remove.
pub fn strip_never_returned(resource: &mut Value) -> bool {
    let Some(obj) = resource.as_object_mut() else {
        return false;
    };
    let before = obj.len();
    obj.retain(|k, _| !NEVER_RETURNED.iter().any(|n| n.eq_ignore_ascii_case(k)));
    obj.len() != before
}

/// Parses a User resource from a POST or PUT body.
pub fn parse_user(body: &Value) -> Result<UserInput, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut attributes: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| {
            !READ_ONLY
                .iter()
                .chain(NEVER_RETURNED.iter())
                .any(|r| r.eq_ignore_ascii_case(k))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let user_name = match get_ci(&attributes, "userName") {
        Some(Value::String(s)) => canonical_user_name(s)?,
        _ => {
            return Err(ScimError::invalid_value(
                "userName is required and must be a non-empty string",
            ));
        }
    };
    // kept as it is compared
    remove_ci(&mut attributes, "userName");
    attributes.insert("userName".into(), Value::String(user_name.clone()));
    let active = match get_ci(&attributes, "active") {
        None | Some(Value::Null) => true,
        Some(v) => lenient_bool(v, "active")?,
    };
    // store the normalized boolean, whatever form the client sent; a user
    // without `active` is active, and is shown without it
    if get_ci(&attributes, "active").is_some() {
        remove_ci(&mut attributes, "active");
        attributes.insert("active".into(), Value::Bool(active));
    }

    let external_id = opt_string(get_ci(&attributes, "externalId"), "externalId")?;
    let name = get_ci(&attributes, "name");
    if name.is_some_and(|n| !(n.is_object() || n.is_null())) {
        return Err(ScimError::invalid_value("name must be an object"));
    }
    let given_name = opt_string(
        name.and_then(|n| get_ci_value(n, "givenName")),
        "name.givenName",
    )?;
    let family_name = opt_string(
        name.and_then(|n| get_ci_value(n, "familyName")),
        "name.familyName",
    )?;
    let locale = match opt_string(get_ci(&attributes, "locale"), "locale")? {
        Some(l) => Some(l),
        None => opt_string(
            get_ci(&attributes, "preferredLanguage"),
            "preferredLanguage",
        )?,
    };
    let email = primary_email(get_ci(&attributes, "emails"))?;
    for s in [&given_name, &family_name, &email].into_iter().flatten() {
        if s.chars().any(char::is_control) {
            return Err(ScimError::invalid_value(
                "names and emails must not contain control characters",
            ));
        }
    }

    prune_sub_attributes(&mut attributes);
    enforce_schema(&mut attributes)?;
    if Value::Object(attributes.clone()).to_string().len() > super::MAX_USER_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the user is larger than {} KiB",
            super::MAX_USER_BYTES / 1024
        )));
    }

    Ok(UserInput {
        user_name,
        external_id,
        active,
        given_name,
        family_name,
        email,
        locale,
        attributes: Value::Object(attributes),
    })
}

/// A sub-attribute of a complex attribute, as `/Schemas` serves it.
#[derive(Debug)]
pub(crate) struct SubAttribute {
    /// Lowercase.
    pub name: String,
    /// `mutability: readOnly`: the service's to set; a client's value is
    /// ignored (RFC 7643 §7).
    pub read_only: bool,
}

/// The form a userName is kept, compared and looked up in, after RFC 8265's
/// UsernameCaseMapped profile (case is kept for display, and ignored when
/// comparing): white space at either end trimmed, fullwidth forms mapped to
/// their ASCII equivalents (`＠` is `@`), then Unicode NFC (so a composed and
/// a decomposed `é` are one name, and the Kelvin sign is a `K`). Refused with
/// `invalidValue`: an empty name, control and format characters (zero-width
/// characters, bidi controls, a byte-order mark), white space other than a
/// plain space inside, more than [`super::MAX_STRING_LEN`] characters.
/// Look-alikes from different scripts stay different names.
pub fn canonical_user_name(raw: &str) -> Result<String, ScimError> {
    use unicode_normalization::UnicodeNormalization;
    let mapped: String = raw
        .trim()
        .chars()
        .map(|c| match u32::from(c) {
            // fullwidth ASCII variants, and the ideographic space
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect();
    let name: String = mapped.trim().nfc().collect();
    if name.is_empty() {
        return Err(ScimError::invalid_value(
            "userName is required and must be a non-empty string",
        ));
    }
    if name.chars().count() > super::MAX_STRING_LEN {
        return Err(ScimError::invalid_value(format!(
            "userName is longer than {} characters",
            super::MAX_STRING_LEN
        )));
    }
    if name
        .chars()
        .any(|c| c.is_control() || crate::text::is_format(c))
    {
        return Err(ScimError::invalid_value(
            "userName must not contain control or format characters (zero-width, bidi controls)",
        ));
    }
    if name.chars().any(|c| c.is_whitespace() && c != ' ') {
        return Err(ScimError::invalid_value(
            "userName must not contain white space other than a plain space",
        ));
    }
    Ok(name)
}

/// One attribute's declared shape, as `/Schemas` serves it.
#[derive(Debug)]
struct Shape {
    kind: String,
    multi: bool,
    /// Sub-attributes, lowercase name → type.
    subs: Vec<(String, String)>,
}

/// (schema URN, attribute), lowercase → its shape; built once from the
/// schemas `/Schemas` serves.
fn shapes() -> &'static std::collections::HashMap<(String, String), Shape> {
    static SHAPES: std::sync::OnceLock<std::collections::HashMap<(String, String), Shape>> =
        std::sync::OnceLock::new();
    SHAPES.get_or_init(|| {
        let mut all = std::collections::HashMap::new();
        for schema in super::discovery::schemas("", &[]) {
            let id = schema["id"].as_str().unwrap_or_default().to_lowercase();
            for attr in schema["attributes"].as_array().into_iter().flatten() {
                let Some(name) = attr["name"].as_str() else {
                    continue;
                };
                let subs = attr["subAttributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| {
                        Some((
                            s["name"].as_str()?.to_lowercase(),
                            s["type"].as_str()?.to_owned(),
                        ))
                    })
                    .collect();
                all.insert(
                    (id.clone(), name.to_lowercase()),
                    Shape {
                        kind: attr["type"].as_str().unwrap_or("string").to_owned(),
                        multi: attr["multiValued"].as_bool().unwrap_or(false),
                        subs,
                    },
                );
            }
        }
        all
    })
}

/// Keeps what `/Schemas` serves and checks its declared types: a top-level
/// attribute or an enterprise attribute the schemas do not serve is dropped
/// (as unknown sub-attributes are), a value of the wrong type is
/// `invalidValue` naming the attribute, and a multi-valued attribute holds
/// at most [`super::MAX_MULTI_VALUES`] values. (`schemas` is not kept: it is
/// derived again on every read.) The custom extension is checked against the
/// organization's attributes by the caller.
fn enforce_schema(attributes: &mut Map<String, Value>) -> Result<(), ScimError> {
    let user = super::USER_SCHEMA.to_lowercase();
    let enterprise = super::ENTERPRISE_USER_SCHEMA.to_lowercase();
    let known = shapes();
    attributes.retain(|k, _| {
        let k = k.to_lowercase();
        k == enterprise
            || k == super::CUSTOM_USER_SCHEMA.to_lowercase()
            || (k != "schemas" && known.contains_key(&(user.clone(), k)))
    });
    for (name, value) in attributes.iter_mut() {
        let lower = name.to_lowercase();
        if lower == enterprise {
            let Value::Object(ext) = value else {
                return Err(ScimError::invalid_value(
                    "the enterprise extension must be an object",
                ));
            };
            ext.retain(|k, _| known.contains_key(&(enterprise.clone(), k.to_lowercase())));
            for (attr, v) in ext.iter_mut() {
                // Okta and Entra may send the manager as its id alone
                if attr.eq_ignore_ascii_case("manager") && v.is_string() {
                    *v = json!({"value": v.take()});
                }
                if let Some(shape) = known.get(&(enterprise.clone(), attr.to_lowercase())) {
                    check_value(attr, shape, v)?;
                }
            }
        } else if let Some(shape) = known.get(&(user.clone(), lower)) {
            check_value(name, shape, value)?;
        }
    }
    Ok(())
}

fn check_value(name: &str, shape: &Shape, value: &Value) -> Result<(), ScimError> {
    if value.is_null() {
        return Ok(());
    }
    if shape.multi {
        let Some(items) = value.as_array() else {
            return Err(ScimError::invalid_value(format!("{name} must be an array")));
        };
        if items.len() > super::MAX_MULTI_VALUES {
            return Err(ScimError::invalid_value(format!(
                "{name} holds at most {} values",
                super::MAX_MULTI_VALUES
            )));
        }
        return items
            .iter()
            .try_for_each(|item| check_single(name, &shape.kind, &shape.subs, item));
    }
    check_single(name, &shape.kind, &shape.subs, value)
}

fn check_single(
    name: &str,
    kind: &str,
    subs: &[(String, String)],
    value: &Value,
) -> Result<(), ScimError> {
    let fits = match (kind, value) {
        (_, Value::Null) => true,
        ("string" | "reference", Value::String(s)) => {
            if s.chars().count() > super::MAX_STRING_LEN {
                return Err(ScimError::invalid_value(format!("{name} is too long")));
            }
            true
        }
        // Entra sends booleans as "True" / "False"
        ("boolean", Value::Bool(_)) => true,
        ("boolean", Value::String(s)) => {
            s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
        }
        ("complex", Value::Object(obj)) => {
            for (k, v) in obj {
                if let Some((_, sub_kind)) = subs.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)) {
                    check_single(&format!("{name}.{k}"), sub_kind, &[], v)?;
                }
            }
            true
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        let article = if kind == "complex" { "an object" } else { kind };
        Err(ScimError::invalid_value(format!(
            "{name} must be {}",
            match article {
                "string" | "reference" => "a string",
                "boolean" => "a boolean",
                other => other,
            }
        )))
    }
}

/// Sub-attributes the served schemas give each complex attribute: (schema
/// URN, attribute) → its sub-attributes, all lowercase.
pub(crate) type SubAttributes = std::collections::HashMap<(String, String), Vec<SubAttribute>>;

/// Built once from the schemas `/Schemas` serves.
pub(crate) fn sub_attributes() -> &'static SubAttributes {
    static KNOWN: std::sync::OnceLock<SubAttributes> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known = SubAttributes::new();
        for schema in super::discovery::schemas("", &[]) {
            let id = schema["id"].as_str().unwrap_or_default().to_lowercase();
            for attr in schema["attributes"].as_array().into_iter().flatten() {
                let subs: Vec<SubAttribute> = attr["subAttributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| {
                        s["name"].as_str().map(|n| SubAttribute {
                            name: n.to_lowercase(),
                            read_only: s["mutability"] == "readOnly",
                        })
                    })
                    .collect();
                if let (Some(name), false) = (attr["name"].as_str(), subs.is_empty()) {
                    known.insert((id.clone(), name.to_lowercase()), subs);
                }
            }
        }
        known
    })
}

/// Drops the sub-attributes a complex attribute's schema does not give it,
/// and the read-only ones (`manager.displayName`) a client may not set
/// (`name.foo`, `emails[].bogus`), however they arrive: a body, a PATCH
/// value, a no-path PATCH. They are never stored, as a PATCH path naming
/// one is refused.
fn prune_sub_attributes(attributes: &mut Map<String, Value>) {
    let known = sub_attributes();
    let prune = |schema: &str, attrs: &mut Map<String, Value>| {
        for (name, value) in attrs.iter_mut() {
            // only complex values have sub-attributes to look up
            if !(value.is_object() || value.is_array()) {
                continue;
            }
            let Some(subs) = known.get(&(schema.to_owned(), name.to_lowercase())) else {
                continue;
            };
            // kept: what the schema gives the attribute and a client may set
            let keep = |obj: &mut Map<String, Value>| {
                obj.retain(|k, _| {
                    subs.iter()
                        .any(|s| !s.read_only && s.name.eq_ignore_ascii_case(k))
                });
            };
            match value {
                Value::Object(obj) => keep(obj),
                Value::Array(items) => items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(keep),
                _ => {}
            }
        }
    };
    prune(&super::USER_SCHEMA.to_lowercase(), attributes);
    let enterprise = super::ENTERPRISE_USER_SCHEMA.to_lowercase();
    for (key, value) in attributes.iter_mut() {
        if key.eq_ignore_ascii_case(&enterprise)
            && let Value::Object(ext) = value
        {
            prune(&enterprise, ext);
        }
    }
}

/// The primary email, else the work email, else the first one.
fn primary_email(emails: Option<&Value>) -> Result<Option<String>, ScimError> {
    let list = match emails {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ScimError::invalid_value("emails must be an array")),
    };
    if list.len() > 100 {
        return Err(ScimError::invalid_value("too many emails"));
    }
    let value_of = |e: &Value| {
        get_ci_value(e, "value")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let is = |e: &Value, attr: &str, want: &Value| get_ci_value(e, attr).is_some_and(|v| v == want);
    let pick = list
        .iter()
        .find(|e| is(e, "primary", &Value::Bool(true)) || is(e, "primary", &json!("True")))
        .or_else(|| list.iter().find(|e| is(e, "type", &json!("work"))))
        .or_else(|| list.first());
    match pick.map(value_of) {
        Some(Some(v)) if v.len() <= super::MAX_STRING_LEN => Ok(Some(v)),
        Some(Some(_)) => Err(ScimError::invalid_value("email is too long")),
        Some(None) => Err(ScimError::invalid_value("emails[].value must be a string")),
        None => Ok(None),
    }
}

/// Case-insensitive attribute lookup (SCIM attribute names are case-insensitive).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn get_ci_value<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object().and_then(|o| get_ci(o, name))
}

fn remove_ci(obj: &mut Map<String, Value>, name: &str) {
    let keys: Vec<String> = obj
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    for k in keys {
        obj.remove(&k);
    }
}

/// Renders a stored user as a SCIM User resource.
pub fn render_user(user: &DirectoryUser, attributes: &Value, base_url: &str) -> Value {
    let mut obj = attributes.as_object().cloned().unwrap_or_default();
    // what an earlier version may have stored is never returned either
    for k in ["id", "meta", "userName", "active", "externalId", "schemas"]
        .iter()
        .chain(NEVER_RETURNED.iter())
    {
        remove_ci(&mut obj, k);
    }
    let mut schemas = vec![json!(USER_SCHEMA)];
    for extension in [ENTERPRISE_USER_SCHEMA, super::CUSTOM_USER_SCHEMA] {
        if obj.keys().any(|k| k.eq_ignore_ascii_case(extension)) {
            schemas.push(json!(extension));
        }
    }
    obj.insert("schemas".into(), Value::Array(schemas));
    obj.insert("id".into(), json!(user.id.as_str()));
    obj.insert("userName".into(), json!(user.user_name));
    let has_active = attributes
        .as_object()
        .is_some_and(|a| get_ci(a, "active").is_some());
    if has_active || !user.active || user.deleted {
        obj.insert("active".into(), json!(user.active && !user.deleted));
    }
    if let Some(x) = &user.external_id {
        obj.insert("externalId".into(), json!(x));
    }
    obj.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": user.created,
            "lastModified": user.last_modified,
            "location": format!("{base_url}/Users/{}", user.id),
            "version": etag(user.version),
        }),
    );
    Value::Object(obj)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
