//! The function crates, run in-process the way Lambda runs them: each
//! gets its configuration from its (resolved) environment, builds its
//! dependencies once, and is invoked with a `LambdaEvent` and a `Context`,
//! under its timeout. A panic or a timeout is an invocation error, as on
//! Lambda, and never takes the caller down.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::dynamodb;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::DynamoDbEventResponse;
use lambda_runtime::{Context, LambdaEvent};

use crate::error::StackError;
use crate::resolve::{ACCOUNT_ID, REGION, STACK_NAME};

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, lambda_runtime::Error>> + Send>>;
type Handler<E, R> = Arc<dyn Fn(LambdaEvent<E>) -> BoxFuture<R> + Send + Sync>;

/// An HTTP API function (payload format 2.0).
pub type HttpFunction = Function<ApiGatewayV2httpRequest, ApiGatewayV2httpResponse>;
/// A DynamoDB stream function.
pub type StreamFunction = Function<dynamodb::Event, DynamoDbEventResponse>;
/// An SQS function.
pub type QueueFunction = Function<SqsEvent, SqsBatchResponse>;

/// A function invoked by a `Schedule` event: it takes the EventBridge
/// scheduled event as JSON (the same entry point as on AWS, which tells the
/// event's shape).
pub type ScheduledFunction = Function<serde_json::Value, serde_json::Value>;

/// A function of one of the three kinds, ready to invoke.
pub enum AnyFunction {
    Http(HttpFunction),
    Stream(StreamFunction),
    Queue(QueueFunction),
}

impl AnyFunction {
    /// The event source kinds this function's handler takes, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "HttpApi",
            Self::Stream(_) => "DynamoDB",
            Self::Queue(_) => "SQS",
        }
    }
}

/// The function crates the local runner knows, by binary name.
pub const BINARIES: [&str; 6] = ["scim", "api", "evaluator", "worker", "mailer", "repair"];

/// What the local runner needs to build a function.
pub struct FunctionSetup<'a> {
    /// `Metadata.BuildProperties.Binary`.
    pub binary: &'a str,
    pub logical_id: &'a str,
    pub timeout: Duration,
    /// The resolved environment.
    pub env: &'a BTreeMap<String, String>,
    pub sdk: &'a aws_config::SdkConfig,
    pub counters: Arc<Counters>,
}

/// Builds a function from its crate: `Config::from_lookup`, `Deps::new`
/// (`fallible` when it returns a `Result`; `async` when it is one, as a
/// `Deps::new` that reads a secret at start), `handle`.
macro_rules! build_function {
    (@new $deps:expr) => {
        $deps
    };
    (@new $deps:expr, async) => {
        $deps.await
    };
    ($setup:expr, $krate:ident, $variant:ident) => {
        build_function!($setup, $krate, $variant, infallible)
    };
    ($setup:expr, $krate:ident, $variant:ident, $check:ident $(, $async:ident)?) => {{
        let setup = $setup;
        let env = setup.env;
        let config_error = |e: &dyn std::fmt::Display| StackError::FunctionConfig {
            function: setup.logical_id.to_owned(),
            message: e.to_string(),
        };
        let config = $krate::Config::from_lookup(&|name: &str| env.get(name).cloned())
            .map_err(|e| config_error(&e))?;
        let deps = ($check)(build_function!(@new $krate::Deps::new(setup.sdk, config) $(, $async)?))
            .map_err(|e| config_error(&e))?;
        let deps = Arc::new(deps);
        let handler: Handler<_, _> = Arc::new(move |event| {
            let deps = deps.clone();
            Box::pin(async move { $krate::handle(&deps, event).await })
        });
        AnyFunction::$variant(Function::new(setup, handler))
    }};
}

fn infallible<D>(deps: D) -> Result<D, String> {
    Ok(deps)
}

fn fallible<D, E: std::fmt::Display>(deps: Result<D, E>) -> Result<D, String> {
    deps.map_err(|e| e.to_string())
}

/// Builds the function a template function names by its binary.
pub async fn build(setup: FunctionSetup<'_>) -> Result<AnyFunction, StackError> {
    Ok(match setup.binary {
        "scim" => build_function!(setup, scim, Http),
        "api" => build_function!(setup, api, Http, fallible, async),
        "evaluator" => build_function!(setup, evaluator, Stream),
        "worker" => build_function!(setup, worker, Queue, fallible, async),
        "mailer" => build_function!(setup, mailer, Queue),
        "repair" => build_function!(setup, repair, Queue),
        other => {
            return Err(StackError::Template(format!(
                "function {} names the binary {other:?}; the local runner knows {}",
                setup.logical_id,
                BINARIES.join(", ")
            )));
        }
    })
}

/// The scheduled entry of a template function, by its binary: the same
/// `Config` and `Deps` as [`build`], the crate's `handle_event`. Only the
/// api function takes scheduled events.
pub async fn build_scheduled(setup: FunctionSetup<'_>) -> Result<ScheduledFunction, StackError> {
    match setup.binary {
        "api" => {
            let env = setup.env;
            let config_error = |e: &dyn std::fmt::Display| StackError::FunctionConfig {
                function: setup.logical_id.to_owned(),
                message: e.to_string(),
            };
            let config = api::Config::from_lookup(&|name: &str| env.get(name).cloned())
                .map_err(|e| config_error(&e))?;
            let deps = Arc::new(
                api::Deps::new(setup.sdk, config)
                    .await
                    .map_err(|e| config_error(&e))?,
            );
            let handler: Handler<_, _> = Arc::new(move |event| {
                let deps = deps.clone();
                Box::pin(async move { api::handle_event(&deps, event).await })
            });
            Ok(Function::new(setup, handler))
        }
        other => Err(StackError::Template(format!(
            "function {} ({other}) has a Schedule event, but only the api function takes scheduled events",
            setup.logical_id
        ))),
    }
}

/// A function: its handler, timeout and counters.
pub struct Function<E, R> {
    /// The binary name (`scim`, `evaluator`, ...).
    pub name: String,
    /// The template's logical id (`ScimFunction`, ...).
    pub logical_id: String,
    timeout: Duration,
    handler: Handler<E, R>,
    counters: Arc<Counters>,
}

impl<E, R> Clone for Function<E, R> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            logical_id: self.logical_id.clone(),
            timeout: self.timeout,
            handler: self.handler.clone(),
            counters: self.counters.clone(),
        }
    }
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The handler returned an error.
    #[error("the handler returned an error: {0}")]
    Handler(lambda_runtime::Error),
    /// The handler ran longer than the function's timeout.
    #[error("the function timed out after {0:?}")]
    Timeout(Duration),
    /// The handler panicked (on Lambda, the process would have died).
    #[error("the handler panicked")]
    Panicked,
}

/// The outcome of one invocation.
pub struct Invocation<R> {
    pub result: Result<R, InvokeError>,
    pub duration: Duration,
    pub request_id: String,
}

impl<E: Send + 'static, R: Send + 'static> Function<E, R> {
    fn new(setup: FunctionSetup<'_>, handler: Handler<E, R>) -> Self {
        Self {
            name: setup.binary.to_owned(),
            logical_id: setup.logical_id.to_owned(),
            timeout: setup.timeout,
            handler,
            counters: setup.counters,
        }
    }

    /// A function from a closure, for tests.
    #[cfg(test)]
    pub fn from_fn<F, Fut>(name: &str, timeout: Duration, f: F) -> Self
    where
        F: Fn(LambdaEvent<E>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, lambda_runtime::Error>> + Send + 'static,
    {
        Self {
            name: name.to_owned(),
            logical_id: name.to_owned(),
            timeout,
            handler: Arc::new(move |event| Box::pin(f(event))),
            counters: Arc::default(),
        }
    }

    /// The function's timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The function's name, as deployed: `user-sync-local-<LogicalId>`.
    pub fn function_name(&self) -> String {
        format!("{STACK_NAME}-{}", self.logical_id)
    }

    /// The function's ARN locally.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{}",
            self.function_name()
        )
    }

    /// Invokes the handler in its own task, under the function's timeout.
    pub async fn invoke(&self, payload: E) -> Invocation<R> {
        let request_id = request_id();
        let context = self.context(&request_id);
        let started = Instant::now();
        let mut task = tokio::spawn((self.handler)(LambdaEvent::new(payload, context)));
        let result = match tokio::time::timeout(self.timeout, &mut task).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(e))) => Err(InvokeError::Handler(e)),
            Ok(Err(_join_error)) => Err(InvokeError::Panicked),
            Err(_elapsed) => {
                task.abort();
                Err(InvokeError::Timeout(self.timeout))
            }
        };
        Invocation {
            result,
            duration: started.elapsed(),
            request_id,
        }
    }

    fn context(&self, request_id: &str) -> Context {
        let function_name = self.function_name();
        let deadline = SystemTime::now()
            .checked_add(self.timeout)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut config = lambda_runtime::Config::default();
        config.function_name.clone_from(&function_name);
        config.memory = 256;
        config.version = "$LATEST".into();
        config.log_group = format!("/aws/lambda/{function_name}");
        let mut context = Context::default();
        context.request_id = request_id.to_owned();
        context.deadline = deadline;
        context.invoked_function_arn = self.arn();
        context.env_config = Arc::new(config);
        context
    }

    /// Counts an invocation and logs one line about it (never its payload).
    pub fn record(
        &self,
        records: usize,
        failed: usize,
        filtered: usize,
        invocation: &Invocation<R>,
    ) {
        let c = &self.counters;
        c.invocations.fetch_add(1, Ordering::Relaxed);
        c.records.fetch_add(records as u64, Ordering::Relaxed);
        c.failed_records.fetch_add(failed as u64, Ordering::Relaxed);
        c.filtered_records
            .fetch_add(filtered as u64, Ordering::Relaxed);
        // as Lambda bills it: each invocation rounded up to the millisecond
        let billed = invocation.duration.as_micros().div_ceil(1000);
        c.billed_ms
            .fetch_add(u64::try_from(billed).unwrap_or(u64::MAX), Ordering::Relaxed);
        let duration_ms = invocation.duration.as_millis();
        match &invocation.result {
            Ok(_) => tracing::info!(
                function = %self.name,
                request_id = %invocation.request_id,
                batch_size = records,
                failures = failed,
                duration_ms,
                "invoked"
            ),
            Err(e) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    function = %self.name,
                    request_id = %invocation.request_id,
                    batch_size = records,
                    failures = failed,
                    duration_ms,
                    error = %e,
                    "invocation failed"
                );
            }
        }
    }

    /// Counts records dropped by the event filter without an invocation.
    pub fn record_filtered(&self, filtered: usize) {
        self.counters
            .filtered_records
            .fetch_add(filtered as u64, Ordering::Relaxed);
    }
}

/// Invocation counters of one function.
#[derive(Debug, Default)]
pub struct Counters {
    invocations: AtomicU64,
    records: AtomicU64,
    failed_records: AtomicU64,
    filtered_records: AtomicU64,
    errors: AtomicU64,
    billed_ms: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> InvocationStats {
        InvocationStats {
            invocations: self.invocations.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            failed_records: self.failed_records.load(Ordering::Relaxed),
            filtered_records: self.filtered_records.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            billed_ms: self.billed_ms.load(Ordering::Relaxed),
        }
    }
}

/// What a function has done since the stack started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvocationStats {
    /// Invocations, successful or not.
    pub invocations: u64,
    /// Records (or requests) passed to the function, counted per invocation:
    /// a retried record counts again.
    pub records: u64,
    /// Records reported as failed (`batchItemFailures`), or all the records
    /// of an invocation that failed.
    pub failed_records: u64,
    /// Records dropped by the event filter, never passed to the function.
    pub filtered_records: u64,
    /// Invocations that returned an error, timed out or panicked.
    pub errors: u64,
    /// The invocations' durations, each rounded up to the millisecond (as
    /// Lambda bills them), summed.
    pub billed_ms: u64,
}

/// A fresh request id (UUID-shaped, unique in this process).
pub fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&nanos.to_be_bytes());
    bytes[8..].copy_from_slice(&(n ^ u64::from(std::process::id()).rotate_left(40)).to_be_bytes());
    user_sync_core::ids::new_id(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_panics_and_timeouts_are_invocation_errors() {
        let f: Function<u32, u32> = Function::from_fn(
            "f",
            Duration::from_millis(200),
            |event: LambdaEvent<u32>| async move {
                match event.payload {
                    0 => Err("boom".into()),
                    1 => panic!("handler bug"),
                    2 => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        Ok(2)
                    }
                    n => {
                        assert!(!event.context.request_id.is_empty());
                        assert!(event.context.deadline > 0);
                        Ok(n)
                    }
                }
            },
        );
        assert!(matches!(
            f.invoke(0).await.result,
            Err(InvokeError::Handler(_))
        ));
        assert!(matches!(
            f.invoke(1).await.result,
            Err(InvokeError::Panicked)
        ));
        assert!(matches!(
            f.invoke(2).await.result,
            Err(InvokeError::Timeout(_))
        ));
        assert_eq!(f.invoke(7).await.result.unwrap(), 7);
    }

    #[test]
    fn request_ids_differ() {
        assert_ne!(request_id(), request_id());
        assert_eq!(request_id().len(), 36);
    }
}
