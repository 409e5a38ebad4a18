//! `product-api-sim`: serves the product API simulator.
//!
//! Environment: `PRODUCT_API_SIM_ADDR` (default `127.0.0.1:4010`),
//! `PRODUCT_API_KEY` (default `local-product-api-key`), `RUST_LOG`.

use product_api_sim::{DEFAULT_ADDR, DEFAULT_API_KEY, SimConfig, serve};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let addr = std::env::var("PRODUCT_API_SIM_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
    let api_key = std::env::var("PRODUCT_API_KEY").unwrap_or_else(|_| DEFAULT_API_KEY.to_owned());

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "product API simulator listening");

    tokio::select! {
        result = serve(listener, SimConfig { api_key }) => result,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("shutting down");
            Ok(())
        }
    }
}
