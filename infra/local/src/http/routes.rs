//! Routes of the HTTP API: `METHOD /path` patterns and the most specific match.

use std::collections::BTreeMap;

use axum::http::Method;

use crate::functions::HttpFunction;

use super::percent_decode;

/// A route of the HTTP API: `METHOD /path` → a function.
#[derive(Clone)]
pub struct HttpRoute {
    /// `None` for `ANY`.
    method: Option<Method>,
    pattern: RoutePattern,
    /// `ANY /scim/v2/{proxy+}`, as API Gateway names it.
    pub(super) route_key: String,
    pub(super) function: HttpFunction,
}

impl HttpRoute {
    /// A route from an `HttpApi` event's `Method` and `Path`. The path
    /// [`DEFAULT_ROUTE`] (method `ANY`) is the route of every request no
    /// other route matches.
    pub fn new(method: &str, path: &str, function: HttpFunction) -> Result<Self, String> {
        let method_upper = method.to_ascii_uppercase();
        let parsed_method = match method_upper.as_str() {
            "ANY" | "X-AMAZON-APIGATEWAY-ANY-METHOD" => None,
            m => Some(
                Method::from_bytes(m.as_bytes())
                    .map_err(|_| format!("invalid method {method:?}"))?,
            ),
        };
        if path == DEFAULT_ROUTE && parsed_method.is_some() {
            return Err(format!("the {DEFAULT_ROUTE} route takes the method ANY"));
        }
        let route_key = if path == DEFAULT_ROUTE {
            DEFAULT_ROUTE.to_owned()
        } else {
            format!(
                "{} {path}",
                parsed_method.as_ref().map_or("ANY", Method::as_str)
            )
        };
        Ok(Self {
            method: parsed_method,
            pattern: RoutePattern::parse(path)?,
            route_key,
            function,
        })
    }

    pub fn route_key(&self) -> &str {
        &self.route_key
    }
}

/// The path of the route that catches every request no other route
/// matches (its route key too).
pub const DEFAULT_ROUTE: &str = "$default";

/// A route path: literal segments, `{name}` (one segment) and a final
/// `{name+}` (the rest, one or more segments); or [`DEFAULT_ROUTE`], which
/// matches any path and is chosen last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
    /// The whole of the `$default` route.
    Default,
}

impl RoutePattern {
    pub fn parse(path: &str) -> Result<Self, String> {
        if path == DEFAULT_ROUTE {
            return Ok(Self(vec![Segment::Default]));
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Err(format!("route path {path:?} does not start with /"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let last = parts.len() - 1;
        let mut segments = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if i == last => Segment::Greedy(greedy.to_owned()),
                    Some(_) => return Err(format!("in {path:?}, a greedy parameter must be last")),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal((*part).to_owned()),
            };
            segments.push(segment);
        }
        Ok(Self(segments))
    }

    /// The path parameters (decoded) when `raw_path` matches.
    pub fn matches(&self, raw_path: &str) -> Option<BTreeMap<String, String>> {
        let rest = raw_path.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let mut params = BTreeMap::new();
        let mut consumed = 0usize;
        for segment in &self.0 {
            match segment {
                Segment::Default => return Some(params),
                Segment::Greedy(name) => {
                    let remainder = rest.get(consumed..).unwrap_or("");
                    if remainder.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(remainder, false));
                    return Some(params);
                }
                Segment::Literal(literal) => {
                    let part = parts.next()?;
                    if percent_decode(part, false) != *literal {
                        return None;
                    }
                    consumed += part.len() + 1;
                }
                Segment::Param(name) => {
                    let part = parts.next()?;
                    if part.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(part, false));
                    consumed += part.len() + 1;
                }
            }
        }
        parts.next().is_none().then_some(params)
    }

    /// Sort key: API Gateway prefers the most specific route, and takes the
    /// `$default` route last.
    fn specificity(&self) -> (bool, bool, usize, usize) {
        let default = self.0.iter().any(|s| matches!(s, Segment::Default));
        let greedy = self.0.iter().any(|s| matches!(s, Segment::Greedy(_)));
        let literals = self
            .0
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (!default, !greedy, self.0.len(), literals)
    }
}

/// The routes, most specific first.
#[derive(Clone)]
pub struct Routes(Vec<HttpRoute>);

impl Routes {
    pub fn new(mut routes: Vec<HttpRoute>) -> Self {
        routes.sort_by(|a, b| {
            b.pattern
                .specificity()
                .cmp(&a.pattern.specificity())
                .then(b.method.is_some().cmp(&a.method.is_some()))
        });
        Self(routes)
    }

    pub(super) fn find(
        &self,
        method: &Method,
        raw_path: &str,
    ) -> Option<(&HttpRoute, BTreeMap<String, String>)> {
        self.0.iter().find_map(|route| {
            if route.method.as_ref().is_some_and(|m| m != method) {
                return None;
            }
            route
                .pattern
                .matches(raw_path)
                .map(|params| (route, params))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn route(path: &str) -> RoutePattern {
        RoutePattern::parse(path).unwrap()
    }

    #[test]
    fn greedy_routes_take_the_rest_of_the_path() {
        let r = route("/scim/v2/{proxy+}");
        assert_eq!(r.matches("/scim/v2/Users").unwrap()["proxy"], "Users");
        assert_eq!(
            r.matches("/scim/v2/Users/abc%20d").unwrap()["proxy"],
            "Users/abc d"
        );
        assert_eq!(r.matches("/scim/v2/Users/").unwrap()["proxy"], "Users/");
        assert!(r.matches("/scim/v2").is_none());
        assert!(r.matches("/scim/v2/").is_none());
        assert!(r.matches("/api/v1/rules").is_none());
        assert!(r.matches("/scim/v1/Users").is_none());
        let p = route("/users/{id}");
        assert_eq!(p.matches("/users/42").unwrap()["id"], "42");
        assert!(p.matches("/users/42/x").is_none());
        assert!(p.matches("/users/").is_none());
        assert!(route("/health").matches("/health").unwrap().is_empty());
        assert!(RoutePattern::parse("/{a+}/b").is_err());
        assert!(RoutePattern::parse("x").is_err());
    }

    #[test]
    fn the_default_route_matches_any_path_and_is_chosen_last() {
        let d = route(DEFAULT_ROUTE);
        for path in ["/console/", "/", "/nowhere/at/all", "/scim/v2"] {
            assert!(d.matches(path).unwrap().is_empty(), "{path}");
        }
        // a greedy parameter takes one or more characters: `/console/`
        // matches neither console route, only the default one
        assert!(route("/console/{proxy+}").matches("/console/").is_none());
        assert!(route("/console").matches("/console/").is_none());
        for other in ["/{proxy+}", "/console/{proxy+}", "/console", "/a/{b}"] {
            assert!(d.specificity() < route(other).specificity(), "{other}");
        }
    }
}
