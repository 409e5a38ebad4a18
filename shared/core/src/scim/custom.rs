//! The values of an organization's custom attributes on a user (the
//! extension [`CUSTOM_USER_SCHEMA`]). What is kept, shown and matched is
//! decided here, from the organization's attribute names and the user's
//! attributes:
//!
//! - a value belongs to one of the organization's attributes, compared
//!   ignoring case, and is kept under the organization's spelling of the
//!   name;
//! - one value per attribute: a body (or a PATCH value object) naming an
//!   attribute twice, in any case (`badge` and `BADGE`), is refused with
//!   `invalidValue`, as nothing says which was meant; successive PATCH
//!   operations replace the value, whatever case each uses;
//! - a value is a string of at most [`MAX_STRING_LEN`] characters
//!   (`invalidValue` otherwise); `null` removes it;
//! - values of attributes the organization no longer captures are not
//!   returned nor matched by filters, and are dropped at the user's next
//!   write, as are values an earlier version kept that these rules refuse.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{CUSTOM_USER_SCHEMA, MAX_STRING_LEN, ScimError};

/// Where the attributes come from: a request's body (every name must be one
/// of the organization's and every value valid), or what was stored (what
/// no longer fits is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Request,
    Stored,
}

/// The keys of `attributes` that name the custom extension (in any case).
fn extension_keys(attributes: &Map<String, Value>) -> Vec<String> {
    attributes
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(CUSTOM_USER_SCHEMA))
        .cloned()
        .collect()
}

/// Whether a user's attributes carry custom values at all (so that the
/// organization's names need to be read).
pub fn has_custom_values(attributes: &Value) -> bool {
    attributes
        .as_object()
        .is_some_and(|a| !extension_keys(a).is_empty())
}

/// Puts the custom extension of a user's attributes in the form it is kept
/// in: one object under [`CUSTOM_USER_SCHEMA`], with one string value per
/// attribute of `captured`, spelled as `captured` spells it, and nothing
/// else (no extension at all when no value is left). See the module's
/// rules; `from` says whether a name or value that breaks them is refused
/// ([`Source::Request`]) or dropped ([`Source::Stored`]).
pub fn keep_captured(
    captured: &[String],
    attributes: &mut Value,
    from: Source,
) -> Result<(), ScimError> {
    match attributes.as_object_mut() {
        Some(obj) => keep_captured_in(captured, obj, from),
        None => Ok(()),
    }
}

/// [`keep_captured`] of an attribute map.
pub fn keep_captured_in(
    captured: &[String],
    obj: &mut Map<String, Value>,
    from: Source,
) -> Result<(), ScimError> {
    let keys = extension_keys(obj);
    if keys.is_empty() {
        return Ok(());
    }
    let mut kept = Map::new();
    for key in keys {
        let Some(ext) = obj.remove(&key) else {
            continue;
        };
        let Value::Object(ext) = ext else {
            if from == Source::Request {
                return Err(ScimError::invalid_value(
                    "the custom extension must be an object",
                ));
            }
            continue;
        };
        for (name, value) in ext {
            let Some(canonical) = captured.iter().find(|c| c.eq_ignore_ascii_case(&name)) else {
                if from == Source::Request {
                    return Err(ScimError::invalid_value(format!(
                        "{name} is not a custom attribute of this organization"
                    )));
                }
                continue;
            };
            let value = match value {
                Value::Null => None,
                Value::String(s) if s.chars().count() <= MAX_STRING_LEN => Some(s),
                Value::String(_) if from == Source::Request => {
                    return Err(ScimError::invalid_value(format!(
                        "{name} is longer than {MAX_STRING_LEN} characters"
                    )));
                }
                _ if from == Source::Request => {
                    return Err(ScimError::invalid_value(format!("{name} must be a string")));
                }
                _ => continue,
            };
            if kept.contains_key(canonical) {
                if from == Source::Request {
                    return Err(ScimError::invalid_value(format!(
                        "{canonical} is given twice (custom attribute names are compared ignoring \
                         case); send one value"
                    )));
                }
                // two values an earlier version kept: the one spelled as
                // the organization spells it wins, else the first
                if name != *canonical {
                    continue;
                }
            }
            match value {
                Some(s) => {
                    kept.insert(canonical.clone(), Value::String(s));
                }
                None if from == Source::Request => {
                    // null: no value, and no second value either
                    kept.insert(canonical.clone(), Value::Null);
                }
                None => {}
            }
        }
    }
    kept.retain(|_, v| !v.is_null());
    if !kept.is_empty() {
        obj.insert(CUSTOM_USER_SCHEMA.to_owned(), Value::Object(kept));
    }
    Ok(())
}

/// A user's attributes as SCIM shows them and filters match them: custom
/// values only of attributes the organization captures now ([`keep_captured`]
/// of what was stored). Borrowed unchanged when there is nothing to drop.
pub fn visible<'a>(captured: &[String], attributes: &'a Value) -> Cow<'a, Value> {
    if !has_custom_values(attributes) {
        return Cow::Borrowed(attributes);
    }
    let mut shown = attributes.clone();
    match keep_captured(captured, &mut shown, Source::Stored) {
        Ok(()) => Cow::Owned(shown),
        // a stored read never refuses; should it, show no custom values
        Err(_) => {
            if let Some(obj) = shown.as_object_mut() {
                for k in extension_keys(obj) {
                    obj.remove(&k);
                }
            }
            Cow::Owned(shown)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn captured() -> Vec<String> {
        vec!["badgeNumber".to_owned(), "costCenter".to_owned()]
    }

    fn request(ext: Value) -> Result<Value, ScimError> {
        let mut attributes = json!({"userName": "a@example.com", CUSTOM_USER_SCHEMA: ext});
        keep_captured(&captured(), &mut attributes, Source::Request).map(|()| attributes)
    }

    #[test]
    fn a_value_is_bounded_in_characters() {
        let at_limit = "é".repeat(MAX_STRING_LEN);
        let kept = request(json!({"badgeNumber": at_limit})).unwrap();
        assert_eq!(kept[CUSTOM_USER_SCHEMA]["badgeNumber"], json!(at_limit));
        let e = request(json!({"badgeNumber": "x".repeat(100_000)})).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"));
        assert!(
            e.detail.contains("longer than 1024 characters"),
            "{}",
            e.detail
        );
        let e = request(json!({"badgeNumber": 7})).unwrap_err();
        assert!(e.detail.contains("must be a string"), "{}", e.detail);
    }

    #[test]
    fn one_value_per_attribute_ignoring_case_in_the_organizations_spelling() {
        let e = request(json!({"badgeNumber": "1", "BADGENUMBER": "2"})).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"));
        assert!(
            e.detail.contains("badgeNumber is given twice"),
            "{}",
            e.detail
        );
        // also across two spellings of the extension's URN
        let mut two = json!({
            CUSTOM_USER_SCHEMA: {"badgeNumber": "1"},
            CUSTOM_USER_SCHEMA.to_uppercase(): {"badgenumber": "2"}
        });
        assert!(keep_captured(&captured(), &mut two, Source::Request).is_err());
        // one value in another case is kept under the organization's name
        let kept = request(json!({"BADGENUMBER": "7", "costcenter": null})).unwrap();
        assert_eq!(kept[CUSTOM_USER_SCHEMA], json!({"badgeNumber": "7"}));
        let e = request(json!({"nickname": "x"})).unwrap_err();
        assert!(e.detail.contains("not a custom attribute"), "{}", e.detail);
    }

    #[test]
    fn values_of_attributes_no_longer_captured_are_neither_shown_nor_kept() {
        let stored = json!({
            "userName": "a@example.com",
            CUSTOM_USER_SCHEMA: {"badgeNumber": "7", "BADGENUMBER": "8", "removed": "x",
                                 "costCenter": "y".repeat(MAX_STRING_LEN + 1)}
        });
        let shown = visible(&captured(), &stored);
        assert_eq!(
            shown.as_ref(),
            &json!({"userName": "a@example.com", CUSTOM_USER_SCHEMA: {"badgeNumber": "7"}})
        );
        // when the organization captures none, no extension at all
        let shown = visible(&[], &stored);
        assert_eq!(shown.as_ref(), &json!({"userName": "a@example.com"}));
        // nothing to drop: borrowed as it is
        let plain = json!({"userName": "a@example.com"});
        assert!(matches!(visible(&captured(), &plain), Cow::Borrowed(_)));
        // a write keeps what is visible
        let mut next = stored.clone();
        keep_captured(&captured(), &mut next, Source::Stored).unwrap();
        assert_eq!(next, *visible(&captured(), &stored));
        assert!(has_custom_values(&stored) && !has_custom_values(&next["userName"]));
    }
}
