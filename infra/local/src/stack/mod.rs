//! The whole system on one machine: the AWS emulator, the resources of
//! `template.yaml`, the product API simulator, the HTTP API and the event
//! source mappings driving the functions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use product_api_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use user_sync_core::catalog::Catalog;
use user_sync_core::ids::OrgId;

use crate::emulator::Emulator;
use crate::error::StackError;
use crate::functions::{Counters, InvocationStats};
use crate::http::{self, Routes};
use crate::resolve::{REGION, Resolver};
use crate::resources::{self};
use crate::schedule::{self};
use crate::shutdown::{self, ShutdownTrigger};
use crate::sqs::{self};
use crate::stream::{self, StreamClients};
use crate::template::Template;

pub use ops::NewOrganization;

mod provision;
mod wiring;

use provision::*;
use wiring::*;

/// The sender address of the welcome emails locally (`MailFromAddress`).
pub const MAIL_FROM_ADDRESS: &str = "no-reply@user-sync.local";
/// The product API key locally (the simulator's and the worker's).
pub const PRODUCT_API_KEY: &str = product_api_sim::DEFAULT_API_KEY;
/// Lambda's default function timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long [`Stack::shutdown`] waits for in-flight work.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How to start a [`Stack`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The repository: `template.yaml`, `infra/moto_server.py`, `.venv`.
    pub repo_root: PathBuf,
    /// Use an emulator that is already running instead of starting one.
    pub aws_endpoint_url: Option<String>,
    /// Port of the HTTP API on 127.0.0.1; 0 for any free port.
    pub http_port: u16,
    /// Port of the product API simulator on 127.0.0.1; 0 for any free port.
    pub simulator_port: u16,
    /// Use a product API simulator that is already running (its base URL,
    /// with the key [`PRODUCT_API_KEY`]) instead of starting one: its
    /// accounts then outlive this stack.
    pub product_api_url: Option<String>,
    /// Logical ids of functions whose queue event sources start disabled, as
    /// an event source mapping with `Enabled: false`: their messages wait in
    /// the queue (benchmarks and tests count them there).
    pub paused: BTreeSet<String>,
    /// Where the emulator it starts appends every AWS call (one JSON line:
    /// the calling function, the service, the action, the resources); each
    /// function calls AWS with an access key id of its own, its binary's
    /// name. The permissions test reads it.
    pub record_calls: Option<PathBuf>,
    /// Template parameter values over their defaults (e.g.
    /// `ScimRequestsPerSecondPerOrg`); a name the template lacks is refused.
    pub parameters: BTreeMap<String, String>,
    /// Run every `Schedule` event at this period instead of its rate (tests
    /// and demos that cannot wait hours); `None`: the template's rate.
    pub schedule_every: Option<Duration>,
}

impl StackOptions {
    /// A stack of `repo_root` with its own emulator, on free ports.
    pub fn new(repo_root: impl Into<PathBuf>) -> Self {
        Self {
            repo_root: repo_root.into(),
            aws_endpoint_url: None,
            http_port: 0,
            simulator_port: 0,
            product_api_url: None,
            paused: BTreeSet::new(),
            record_calls: None,
            parameters: BTreeMap::new(),
            schedule_every: None,
        }
    }
}

/// A running local stack. Stop it with [`Stack::shutdown`]; dropping it also
/// stops its tasks and kills the emulator it started.
pub struct Stack {
    /// `http://127.0.0.1:<port>`: the HTTP API.
    pub http_url: String,
    /// `http://127.0.0.1:<port>/scim/v2`.
    pub scim_url: String,
    /// `http://127.0.0.1:<port>/api/v1`.
    pub api_url: String,
    /// The product API simulator's base URL (what the worker calls).
    pub product_api_url: String,
    /// `<product_api_url>/control`: the simulator's control endpoint.
    pub simulator_control_url: String,
    pub aws_endpoint_url: String,
    /// Configured for the emulator: region, credentials, endpoint.
    pub sdk_config: SdkConfig,
    pub directory_table: String,
    pub state_table: String,
    /// Table logical id → name.
    pub tables: BTreeMap<String, String>,
    /// Queue logical id → URL.
    pub queues: BTreeMap<String, String>,
    /// Queue logical id → ARN.
    pub queue_arns: BTreeMap<String, String>,
    /// The verified SES sender.
    pub mail_from: String,
    /// The ARN of the Secrets Manager secret holding the product API key
    /// (the stack's `ProductApiKeySecretArn`).
    pub product_api_key_secret: String,
    /// The simulator it started, if it started one.
    simulator: Option<Simulator>,
    envs: BTreeMap<String, BTreeMap<String, String>>,
    counters: BTreeMap<String, Arc<Counters>>,
    trigger: ShutdownTrigger,
    tasks: JoinSet<()>,
    emulator: Option<Emulator>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("scim_url", &self.scim_url)
            .field("api_url", &self.api_url)
            .field("product_api_url", &self.product_api_url)
            .field("aws_endpoint_url", &self.aws_endpoint_url)
            .field("tables", &self.tables)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

/// The email domain of the organizations the stack creates (the demo's).
pub const DEMO_DOMAIN: &str = "example.com";

impl Stack {
    /// Starts everything and returns once it is all serving: the emulator
    /// (unless `aws_endpoint_url` names one), the tables and queues of
    /// `template.yaml`, the SES sender identity, the product API simulator,
    /// the functions, the HTTP API and the event source mappings.
    pub async fn start(opts: StackOptions) -> Result<Self, StackError> {
        let template = Template::load(&opts.repo_root.join("template.yaml"))?;

        let (emulator, aws_endpoint_url) = match &opts.aws_endpoint_url {
            Some(url) => (None, url.trim_end_matches('/').to_owned()),
            None => {
                let emulator =
                    Emulator::start(&opts.repo_root, opts.record_calls.as_deref()).await?;
                let url = emulator.endpoint_url().to_owned();
                (Some(emulator), url)
            }
        };
        let sdk_config = sdk_config(&aws_endpoint_url).await;

        let http_listener = bind(opts.http_port, "the HTTP API").await?;
        let http_url = local_url(&http_listener)?;
        let (simulator_listener, product_api_url) = match &opts.product_api_url {
            Some(url) => (None, url.trim_end_matches('/').to_owned()),
            None => {
                let listener = bind(opts.simulator_port, "the product API simulator").await?;
                let url = local_url(&listener)?;
                (Some(listener), url)
            }
        };

        // the product API key in the emulator's Secrets Manager, where the
        // functions read it at start as they do on AWS
        let product_api_key_secret = match opts.parameters.get("ProductApiKeySecretArn") {
            Some(arn) => arn.clone(),
            None => {
                resources::put_product_api_key(
                    &aws_sdk_secretsmanager::Client::new(&sdk_config),
                    PRODUCT_API_KEY,
                )
                .await?
            }
        };
        let mut resolver = Resolver::new();
        let mut parameters = BTreeMap::from([
            ("ProductApiBaseUrl", product_api_url.clone()),
            ("ProductApiKeySecretArn", product_api_key_secret.clone()),
            ("MailFromAddress", MAIL_FROM_ADDRESS.to_owned()),
            ("LoginUrl", format!("{http_url}/console")),
            // tests see a product list or seat limit changed at the simulator
            ("ProductCatalogueCacheSeconds", "1".to_owned()),
            // tests see a rotated signing key of their identity provider
            ("OidcJwksMinRefreshSeconds", "1".to_owned()),
        ]);
        for (name, value) in &opts.parameters {
            if !template.parameters.contains_key(name) {
                return Err(StackError::Template(format!(
                    "the template has no parameter {name}"
                )));
            }
            parameters.insert(name, value.clone());
        }
        set_parameters(&template, &parameters, &mut resolver)?;

        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config);
        let sqs_client = aws_sdk_sqs::Client::new(&sdk_config);
        let provisioned = provision(&template, &mut resolver, &dynamodb, &sqs_client).await?;
        resources::verify_sender(&aws_sdk_sesv2::Client::new(&sdk_config), MAIL_FROM_ADDRESS)
            .await?;

        let (trigger, shutdown) = shutdown::channel();
        let mut tasks = JoinSet::new();

        let simulator = simulator_listener.map(|listener| {
            let simulator = Simulator::new(SimConfig {
                api_key: PRODUCT_API_KEY.to_owned(),
            });
            let serving = simulator.clone();
            let mut shutdown = shutdown.clone();
            tasks.spawn(async move {
                tokio::select! {
                    result = serving.serve(listener) => {
                        if let Err(e) = result {
                            tracing::error!(error = %e, "the product API simulator stopped");
                        }
                    }
                    () = shutdown.wait() => {}
                }
            });
            simulator
        });

        let wiring = wire_functions(
            &template,
            &resolver,
            &sdk_config,
            &provisioned,
            opts.schedule_every,
        )
        .await?;

        let scim_url = format!(
            "{http_url}{}",
            wiring.base_path("scim").unwrap_or("/scim/v2")
        );
        let api_url = format!("{http_url}{}", wiring.base_path("api").unwrap_or("/api/v1"));
        {
            let routes = Routes::new(wiring.routes);
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                if let Err(e) = http::serve(http_listener, routes, shutdown).await {
                    tracing::error!(error = %e, "the HTTP API stopped");
                }
            });
        }
        let stream_clients = StreamClients {
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk_config),
            sqs: sqs_client.clone(),
        };
        for mapping in wiring.streams {
            tasks.spawn(stream::run(
                Arc::new(mapping),
                stream_clients.clone(),
                shutdown.clone(),
            ));
        }
        for mapping in wiring.schedules {
            tasks.spawn(schedule::run(mapping, shutdown.clone()));
        }
        for mapping in wiring.queues {
            if opts.paused.contains(&mapping.function.logical_id) {
                tracing::info!(function = %mapping.function.logical_id, "queue event source disabled");
                continue;
            }
            let mapping = Arc::new(mapping);
            for _ in 0..mapping.pollers {
                tasks.spawn(sqs::run_poller(
                    mapping.clone(),
                    sqs_client.clone(),
                    shutdown.clone(),
                ));
            }
        }

        let table_name = |id: &str| {
            provisioned
                .tables
                .get(id)
                .map(|t| t.name.clone())
                .ok_or_else(|| StackError::Template(format!("no {id} resource")))
        };
        let stack = Self {
            scim_url,
            api_url,
            simulator_control_url: format!("{product_api_url}/control"),
            product_api_url,
            aws_endpoint_url,
            sdk_config,
            directory_table: table_name("DirectoryTable")?,
            state_table: table_name("StateTable")?,
            tables: provisioned
                .tables
                .iter()
                .map(|(id, t)| (id.clone(), t.name.clone()))
                .collect(),
            queues: provisioned
                .queues
                .iter()
                .map(|(id, q)| (id.clone(), q.url.clone()))
                .collect(),
            queue_arns: provisioned
                .queues
                .iter()
                .map(|(id, q)| (id.clone(), q.arn.clone()))
                .collect(),
            mail_from: MAIL_FROM_ADDRESS.to_owned(),
            product_api_key_secret,
            http_url,
            simulator,
            envs: wiring.envs,
            counters: wiring.counters,
            trigger,
            tasks,
            emulator,
        };
        tracing::info!(scim_url = %stack.scim_url, api_url = %stack.api_url, "local stack started");
        Ok(stack)
    }

    /// Creates an organization with a SCIM token and an admin token (the
    /// same operation as the ops CLI), holding `example.com` through the ops
    /// override (`ops domains claim`), so that its users there are
    /// provisioned. `Conflict` when it exists.
    pub async fn create_organization(
        &self,
        org_id: &OrgId,
        name: &str,
    ) -> Result<NewOrganization, StackError> {
        let table =
            user_sync_aws::dynamo::DirectoryTable::new(self.dynamodb(), &self.directory_table);
        let error = |source| StackError::Organization {
            org_id: org_id.to_string(),
            source,
        };
        let created = ops::create_organization(&table, org_id, name)
            .await
            .map_err(error)?;
        ops::claim_domains(&table, org_id, &[DEMO_DOMAIN])
            .await
            .map_err(error)?;
        Ok(created)
    }

    /// Gives an organization the catalogue's lists (as `ops catalog set`
    /// does): privileges, user groups, device groups, settings templates.
    pub async fn set_catalog(&self, org_id: &OrgId, catalog: Catalog) -> Result<(), StackError> {
        let table =
            user_sync_aws::dynamo::DirectoryTable::new(self.dynamodb(), &self.directory_table);
        ops::set_catalog(&table, org_id, catalog)
            .await
            .map_err(|source| StackError::Organization {
                org_id: org_id.to_string(),
                source,
            })
    }

    /// Sets an organization's seat limits at the product API simulator
    /// (product → seats; a product left out is unlimited).
    pub async fn set_seats(
        &self,
        org_id: &OrgId,
        seats: BTreeMap<String, u32>,
    ) -> Result<(), StackError> {
        match &self.simulator {
            Some(simulator) => {
                simulator.set_seats(org_id.as_str(), seats);
                Ok(())
            }
            None => self.simulator_put(org_id, "seats", &seats).await,
        }
    }

    /// Sets the products the simulator says an organization's account
    /// offers (`None`: its default list, the demo products).
    pub async fn set_products(
        &self,
        org_id: &OrgId,
        products: Option<Vec<product_api_sim::Product>>,
    ) -> Result<(), StackError> {
        match (&self.simulator, products) {
            (Some(simulator), products) => {
                simulator.set_products(org_id.as_str(), products);
                Ok(())
            }
            (None, Some(products)) => self.simulator_put(org_id, "products", &products).await,
            (None, None) => {
                let defaults = product_api_sim::products::default_products();
                self.simulator_put(org_id, "products", &defaults).await
            }
        }
    }

    /// `PUT /control/orgs/{org_id}/{what}` of an external simulator.
    async fn simulator_put(
        &self,
        org_id: &OrgId,
        what: &str,
        body: &impl serde::Serialize,
    ) -> Result<(), StackError> {
        let url = format!("{}/orgs/{org_id}/{what}", self.simulator_control_url);
        let answer = reqwest::Client::new().put(&url).json(body).send().await;
        answer
            .and_then(reqwest::Response::error_for_status)
            .map(drop)
            .map_err(|e| {
                StackError::Template(format!(
                    "the product API simulator did not take the {what} of {org_id}: {e}"
                ))
            })
    }

    /// What the function `name` (its binary: `evaluator`, `worker`, ...) has
    /// done so far.
    pub fn stats(&self, name: &str) -> InvocationStats {
        self.counters
            .get(name)
            .map(|c| c.snapshot())
            .unwrap_or_default()
    }

    /// Every function's counters (by binary), to read while the stack runs.
    pub fn counters(&self) -> BTreeMap<String, Arc<Counters>> {
        self.counters.clone()
    }

    /// How many times the function `name` (its binary) was invoked.
    pub fn invocations(&self, name: &str) -> u64 {
        self.stats(name).invocations
    }

    /// The resolved environment of the function `name` (its binary).
    pub fn function_env(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.envs.get(name)
    }

    /// The product API simulator, to arrange or inspect its state directly,
    /// when this stack started it.
    pub fn simulator(&self) -> Option<&Simulator> {
        self.simulator.as_ref()
    }

    /// A DynamoDB client for the emulator.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config)
    }

    /// An SQS client for the emulator.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config)
    }

    /// The URL of the queue with this logical id.
    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        self.queues.get(logical_id).map(String::as_str)
    }

    /// Stops the pollers and servers (letting in-flight invocations finish,
    /// for up to 10 s) and the emulator this stack started.
    pub async fn shutdown(mut self) {
        self.trigger.trigger();
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("some tasks did not stop in time; aborting them");
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        if let Some(emulator) = self.emulator.take() {
            emulator.stop().await;
        }
        tracing::info!("local stack stopped");
    }
}

/// An SDK configuration for the emulator, built explicitly (nothing is read
/// from or written to the process environment).
pub async fn sdk_config(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(REGION)
        .credentials_provider(Credentials::from_keys("local", "local", None))
        // a call to the emulator that hangs becomes an error the caller retries
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(std::time::Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

async fn bind(port: u16, what: &str) -> Result<TcpListener, StackError> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| StackError::io(format!("listening on 127.0.0.1:{port} for {what}"), e))
}

fn local_url(listener: &TcpListener) -> Result<String, StackError> {
    let addr = listener
        .local_addr()
        .map_err(|e| StackError::io("reading a listener's address", e))?;
    Ok(format!("http://127.0.0.1:{}", addr.port()))
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Tests share a stack across tasks and start it from spawned tasks.
    #[test]
    fn stacks_can_be_shared_and_started_anywhere() {
        fn shareable<T: Send + Sync>() {}
        fn sendable<T: Send>(_: &T) {}
        shareable::<Stack>();
        sendable(&Stack::start(StackOptions::new(".")));
        #[allow(dead_code)]
        fn shutdown_is_send(stack: Stack) {
            sendable(&stack.shutdown());
        }
    }
}
