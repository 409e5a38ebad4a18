//! The `repair` Lambda: wiring only.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = repair::Config::from_lookup(&|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let deps = repair::Deps::new(&sdk, config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        repair::handle_event(&deps, event)
    }))
    .await
}
