//! Requests to one of an organization's surfaces with its token: the SCIM
//! endpoint ([`Scim`]) or the admin API ([`AdminApi`]). What each surface
//! offers beyond plain requests is in `scim.rs` and `admin.rs`.

use std::marker::PhantomData;

use serde_json::Value;

use super::{Answer, TestOrg};

/// Where one surface's requests go, and with which of the organization's
/// tokens.
pub trait Surface {
    fn url(org: &TestOrg, path: &str) -> String;
    fn token(org: &TestOrg) -> &str;
}

/// The SCIM endpoint: paths follow the SCIM base URL (`/Users?…`).
#[derive(Debug, Clone, Copy)]
pub struct ScimSurface;

impl Surface for ScimSurface {
    fn url(org: &TestOrg, path: &str) -> String {
        org.urls.scim(path)
    }
    fn token(org: &TestOrg) -> &str {
        &org.scim_token
    }
}

/// The admin API: paths follow `/api/v1` (`/rules`).
#[derive(Debug, Clone, Copy)]
pub struct AdminSurface;

impl Surface for AdminSurface {
    fn url(org: &TestOrg, path: &str) -> String {
        org.urls.api(path)
    }
    fn token(org: &TestOrg) -> &str {
        &org.admin_token
    }
}

/// Requests against one surface with the organization's token for it.
#[derive(Debug)]
pub struct Api<'a, S> {
    pub(super) org: &'a TestOrg,
    surface: PhantomData<S>,
}

impl<S> Clone for Api<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Api<'_, S> {}

/// Requests against the SCIM endpoint with the organization's SCIM token.
pub type Scim<'a> = Api<'a, ScimSurface>;
/// Requests against the admin API with the organization's admin token.
pub type AdminApi<'a> = Api<'a, AdminSurface>;

impl<'a, S: Surface> Api<'a, S> {
    pub(super) fn new(org: &'a TestOrg) -> Self {
        Self {
            org,
            surface: PhantomData,
        }
    }

    /// A request with extra headers; the whole answer.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = S::url(self.org, path);
        let token = S::token(self.org);
        self.org
            .client
            .request(method, &url, Some(token), body, headers)
            .await
    }

    /// A request; the answer's status and JSON body.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let a = self.request(method, path, body.as_ref(), &[]).await;
        (a.status, a.body)
    }

    /// A request with `If-Match: {etag}` (the version a write expects).
    pub async fn if_match(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        etag: &str,
    ) -> Answer {
        self.request(method, path, body, &[("if-match", etag)])
            .await
    }
}
