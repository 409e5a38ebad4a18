//! Product API simulator: an HTTP server standing in for the external product
//! API (accounts, seats and the products an account offers) locally and in tests. See `docs/product-api.md`
//! for the contract.
//!
//! Embed it with [`serve`] (or [`Simulator::serve`] / [`router`] to keep a
//! handle on its state); the `product-api-sim` binary is a thin wrapper.

pub mod accounts;
mod admin_edit;
mod control;
mod error;
pub mod faults;
mod http;
pub mod products;
mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

pub use admin_edit::DEFAULT_EDITOR;

pub use accounts::{Account, AccountState, Role, SeatLimits, Status};
pub use faults::{Faults, RateLimit};
pub use products::Product;
pub use state::{CallRecord, Simulator};

/// The API key the binary uses when `PRODUCT_API_KEY` is not set.
pub const DEFAULT_API_KEY: &str = "local-product-api-key";

/// The address the binary listens on when `PRODUCT_API_SIM_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4010";

/// Largest request body accepted (64 KiB); larger ones get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How the simulator is set up.
#[derive(Clone)]
pub struct SimConfig {
    /// The key clients must send as `Authorization: Bearer {api_key}`.
    pub api_key: String,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// The simulator's routes: the product API under `/v1`, the control endpoint
/// under `/control`, and `/health`.
pub fn router(state: Simulator) -> Router {
    Router::new()
        .route("/health", get(control::health))
        .route(
            "/v1/accounts/{org_id}/users/{user_key}",
            put(http::put_user).get(http::get_user),
        )
        .route("/v1/accounts/{org_id}/seats", get(http::get_seats))
        .route(
            "/v1/accounts/{org_id}/products",
            get(products::get_products),
        )
        .route("/control/accounts", get(control::list_accounts))
        .route(
            "/control/accounts/{org_id}/{user_key}",
            get(control::get_account).patch(admin_edit::patch_account),
        )
        .route("/control/calls", get(control::list_calls))
        .route(
            "/control/orgs/{org_id}/seats",
            put(control::put_seats).get(control::get_seats),
        )
        .route(
            "/control/orgs/{org_id}/products",
            put(products::put_control).get(products::get_control),
        )
        .route(
            "/control/orgs/{org_id}/faults",
            put(control::put_org_faults)
                .get(control::get_org_faults)
                .delete(control::delete_org_faults),
        )
        .route(
            "/control/existing-accounts",
            put(control::put_existing_accounts).get(control::get_existing_accounts),
        )
        .route(
            "/control/faults",
            put(control::put_faults).get(control::get_faults),
        )
        .route("/control/reset", post(control::reset))
        .fallback(control::not_found)
        .method_not_allowed_fallback(control::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serves a fresh simulator on `listener`; runs until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, config: SimConfig) -> std::io::Result<()> {
    Simulator::new(config).serve(listener).await
}

/// Now, as `2026-01-02T03:04:05.678Z` (RFC 3339, UTC, milliseconds).
pub(crate) fn timestamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}
