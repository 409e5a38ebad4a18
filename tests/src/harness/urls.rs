//! Where the stack's endpoints are: every URL a test sends to is built here.

use crate::stack;

/// The base URLs of one stack's endpoints.
#[derive(Debug, Clone)]
pub struct Urls {
    /// The SCIM endpoint (`…/scim/v2`).
    pub scim: String,
    /// The admin API (`…/api/v1`).
    pub api: String,
    /// The product API simulator.
    pub product_api: String,
    /// The AWS emulator.
    pub aws: String,
}

impl Urls {
    /// The shared stack's endpoints (see [`stack`]).
    pub fn of_stack() -> Self {
        let s = stack();
        Self::new(
            &s.scim_url,
            &s.api_url,
            &s.product_api_url,
            &s.aws_endpoint_url,
        )
    }

    /// Endpoints of a stack started elsewhere (the crash and fault runs
    /// restart theirs on the same ports).
    pub fn new(scim: &str, api: &str, product_api: &str, aws: &str) -> Self {
        Self {
            scim: scim.to_owned(),
            api: api.to_owned(),
            product_api: product_api.to_owned(),
            aws: aws.to_owned(),
        }
    }

    /// A SCIM URL: `path` after the SCIM base URL (`/Users?…`).
    pub fn scim(&self, path: &str) -> String {
        format!("{}{path}", self.scim)
    }

    /// An admin API URL: `path` after `/api/v1` (`/rules`).
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    /// The admin console's URL (`…/console`, beside `/api/v1`).
    pub fn console(&self) -> String {
        let base = self
            .api
            .strip_suffix("/api/v1")
            .expect("the API URL ends with /api/v1");
        format!("{base}/console")
    }

    /// A URL of the simulator's control endpoint: `path` after `/control`.
    pub fn control(&self, path: &str) -> String {
        format!("{}/control{path}", self.product_api)
    }

    /// The emulator's dump of what SES holds (the emails it accepted).
    pub fn aws_data(&self) -> String {
        format!("{}/moto-api/data.json?service=ses", self.aws)
    }
}

/// A URL of the shared stack's SCIM endpoint (for requests a test sends
/// with another token than the organization's, or none).
pub fn scim_url(path: &str) -> String {
    Urls::of_stack().scim(path)
}

/// A URL of the shared stack's admin API (for requests with another token
/// than the organization's, or none).
pub fn api_url(path: &str) -> String {
    Urls::of_stack().api(path)
}

/// A URL of the shared stack's simulator control endpoint.
pub fn control_url(path: &str) -> String {
    Urls::of_stack().control(path)
}
