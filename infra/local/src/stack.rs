//! The whole system on one machine: the AWS emulator, the resources of
//! `template.yaml`, the product API simulator, the HTTP API and the event
//! source mappings driving the five functions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use product_api_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use user_sync_core::catalog::Catalog;
use user_sync_core::ids::OrgId;

use crate::emulator::Emulator;
use crate::error::StackError;
use crate::filter::Filters;
use crate::functions::{self, AnyFunction, Counters, FunctionSetup, InvocationStats};
use crate::http::{self, HttpRoute, Routes};
use crate::resolve::{REGION, Resolver};
use crate::resources::{self, CreatedQueue, CreatedTable};
use crate::shutdown::{self, ShutdownTrigger};
use crate::sqs::{self, QueueEventProperties, QueueMapping};
use crate::stream::{
    self, FilterCriteria, RetryPolicy, StartingPosition, StreamClients, StreamEventProperties,
    StreamMapping,
};
use crate::template::{EventKind, FunctionSpec, ResourceKind, Template};

pub use ops::NewOrganization;

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

        let wiring = wire_functions(&template, &resolver, &sdk_config, &provisioned).await?;

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

    /// Gives an organization a catalogue (as `ops catalog set` does) and the
    /// simulator the seats of its products, so the two agree.
    pub async fn set_catalog(&self, org_id: &OrgId, catalog: Catalog) -> Result<(), StackError> {
        let seats = catalog
            .products
            .iter()
            .filter_map(|p| p.seats.map(|n| (p.id.clone(), n)))
            .collect();
        let table =
            user_sync_aws::dynamo::DirectoryTable::new(self.dynamodb(), &self.directory_table);
        ops::set_catalog(&table, org_id, catalog)
            .await
            .map_err(|source| StackError::Organization {
                org_id: org_id.to_string(),
                source,
            })?;
        match &self.simulator {
            Some(simulator) => simulator.set_seats(org_id.as_str(), seats),
            None => {
                let url = format!("{}/orgs/{org_id}/seats", self.simulator_control_url);
                let answer = reqwest::Client::new().put(&url).json(&seats).send().await;
                if let Err(e) = answer.and_then(reqwest::Response::error_for_status) {
                    return Err(StackError::Template(format!(
                        "the product API simulator did not take the seats of {org_id}: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// What the function `name` (its binary: `evaluator`, `worker`, ...) has
    /// done so far.
    pub fn stats(&self, name: &str) -> InvocationStats {
        self.counters
            .get(name)
            .map(|c| c.snapshot())
            .unwrap_or_default()
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

/// Parameters: the local values, else their `Default`.
fn set_parameters(
    template: &Template,
    local: &BTreeMap<&str, String>,
    resolver: &mut Resolver,
) -> Result<(), StackError> {
    for (name, default) in &template.parameters {
        if let Some(value) = local.get(name.as_str()) {
            resolver.set_ref(name, value);
        } else if let Some(default) = default {
            let value = resolver
                .resolve_string(default)
                .map_err(|source| StackError::Resolve {
                    what: format!("the default of parameter {name}"),
                    source,
                })?;
            resolver.set_ref(name, value);
        }
    }
    Ok(())
}

/// The tables and queues created, by logical id.
struct Provisioned {
    tables: BTreeMap<String, CreatedTable>,
    queues: BTreeMap<String, CreatedQueue>,
}

impl Provisioned {
    fn queue_by_arn(&self, arn: &str) -> Option<&CreatedQueue> {
        self.queues.values().find(|q| q.arn == arn)
    }
}

/// Creates the tables, then the queues, then sets the redrive policies (all
/// dead-letter queues exist by then), registering each resource's `!Ref`
/// and `!GetAtt` values as it goes.
async fn provision(
    template: &Template,
    resolver: &mut Resolver,
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
) -> Result<Provisioned, StackError> {
    let resolve_tree = |resolver: &Resolver, id: &str, value: &serde_yaml::Value| {
        resolver
            .resolve_tree(value)
            .map_err(|source| StackError::Resolve {
                what: format!("{id}.Properties"),
                source,
            })
    };

    let mut tables = BTreeMap::new();
    let mut queues = BTreeMap::new();
    for resource in &template.resources {
        let id = resource.logical_id.as_str();
        match &resource.kind {
            ResourceKind::Table(properties) => {
                let table =
                    resources::create_table(dynamodb, id, &resolve_tree(resolver, id, properties)?)
                        .await?;
                resolver.set_ref(id, &table.name);
                resolver.set_attribute(id, "Arn", &table.arn);
                if let Some(stream_arn) = &table.stream_arn {
                    resolver.set_attribute(id, "StreamArn", stream_arn);
                }
                tables.insert(id.to_owned(), table);
            }
            ResourceKind::Queue(properties) => {
                let mut without_redrive = properties.clone();
                if let Some(m) = without_redrive.as_mapping_mut() {
                    m.remove("RedrivePolicy");
                    m.remove("RedriveAllowPolicy");
                }
                let queue = resources::create_queue(
                    sqs,
                    id,
                    &resolve_tree(resolver, id, &without_redrive)?,
                )
                .await?;
                resolver.set_ref(id, &queue.url);
                resolver.set_attribute(id, "Arn", &queue.arn);
                resolver.set_attribute(id, "QueueName", &queue.name);
                resolver.set_attribute(id, "QueueUrl", &queue.url);
                queues.insert(id.to_owned(), queue);
            }
            ResourceKind::HttpApi => resolver.set_ref(id, "local"),
            ResourceKind::Function(_) => {
                let name = format!("{}-{id}", crate::resolve::STACK_NAME);
                resolver.set_attribute(
                    id,
                    "Arn",
                    format!(
                        "arn:aws:lambda:{REGION}:{}:function:{name}",
                        crate::resolve::ACCOUNT_ID
                    ),
                );
                resolver.set_ref(id, name);
            }
            ResourceKind::Other(type_name) => {
                tracing::debug!(resource = id, r#type = %type_name, "not created locally");
            }
        }
    }
    for resource in &template.resources {
        if let (ResourceKind::Queue(properties), Some(queue)) =
            (&resource.kind, queues.get(&resource.logical_id))
        {
            let policies = properties.as_mapping().map(|m| {
                let mut only = serde_yaml::Mapping::new();
                for key in ["RedrivePolicy", "RedriveAllowPolicy"] {
                    if let Some(v) = m.get(key) {
                        only.insert(key.into(), v.clone());
                    }
                }
                serde_yaml::Value::Mapping(only)
            });
            if let Some(policies) = policies {
                let resolved = resolve_tree(resolver, &resource.logical_id, &policies)?;
                resources::set_redrive_policy(sqs, queue, &resolved).await?;
            }
        }
    }
    Ok(Provisioned { tables, queues })
}

/// The functions and their event sources, ready to start.
struct Wiring {
    routes: Vec<HttpRoute>,
    streams: Vec<StreamMapping>,
    queues: Vec<QueueMapping>,
    /// Route base paths by binary (`scim` → `/scim/v2`).
    base_paths: BTreeMap<String, String>,
    envs: BTreeMap<String, BTreeMap<String, String>>,
    counters: BTreeMap<String, Arc<Counters>>,
}

impl Wiring {
    fn base_path(&self, binary: &str) -> Option<&str> {
        self.base_paths.get(binary).map(String::as_str)
    }
}

async fn wire_functions(
    template: &Template,
    resolver: &Resolver,
    sdk: &SdkConfig,
    provisioned: &Provisioned,
) -> Result<Wiring, StackError> {
    let mut wiring = Wiring {
        routes: Vec::new(),
        streams: Vec::new(),
        queues: Vec::new(),
        base_paths: BTreeMap::new(),
        envs: BTreeMap::new(),
        counters: BTreeMap::new(),
    };
    for resource in &template.resources {
        let ResourceKind::Function(spec) = &resource.kind else {
            continue;
        };
        let id = resource.logical_id.as_str();
        let env = function_env(template, resolver, id, spec)?;
        let timeout = function_timeout(template, resolver, id, spec)?;
        let counters = wiring
            .counters
            .entry(spec.binary.clone())
            .or_default()
            .clone();
        // each function's own access key id: the emulator's record of calls
        // names the function that made each one
        let function_sdk = sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::from_keys(
                spec.binary.clone(),
                "local",
                None,
            )))
            .build();
        let function = functions::build(FunctionSetup {
            binary: &spec.binary,
            logical_id: id,
            timeout,
            env: &env,
            sdk: &function_sdk,
            counters,
        })
        .await?;
        wiring.envs.insert(spec.binary.clone(), env);

        for event in &spec.events {
            let where_ = format!("{id}.Events.{}", event.name);
            let mismatch = |event_type: &str| {
                StackError::Template(format!(
                    "{where_} is a {event_type} event, but the {} function takes {} events",
                    spec.binary,
                    function.kind()
                ))
            };
            match (&event.kind, &function) {
                (EventKind::HttpApi { path, method }, AnyFunction::Http(f)) => {
                    let route = HttpRoute::new(method, path, f.clone())
                        .map_err(|e| StackError::Template(format!("{where_}: {e}")))?;
                    if path.starts_with('/') {
                        wiring
                            .base_paths
                            .entry(spec.binary.clone())
                            .or_insert_with(|| base_path(path));
                    }
                    wiring.routes.push(route);
                }
                (EventKind::DynamoDb(properties), AnyFunction::Stream(f)) => {
                    let props: StreamEventProperties = typed(resolver, &where_, properties)?;
                    if props.enabled == Some(false) {
                        tracing::info!(mapping = %where_, "disabled in the template; not started");
                        continue;
                    }
                    wiring
                        .streams
                        .push(stream_mapping(&where_, props, f.clone(), provisioned)?);
                }
                (EventKind::Sqs(properties), AnyFunction::Queue(f)) => {
                    let props: QueueEventProperties = typed(resolver, &where_, properties)?;
                    if props.enabled == Some(false) {
                        tracing::info!(mapping = %where_, "disabled in the template; not started");
                        continue;
                    }
                    wiring
                        .queues
                        .push(queue_mapping(&where_, props, f.clone(), provisioned)?);
                }
                (EventKind::HttpApi { .. }, _) => return Err(mismatch("HttpApi")),
                (EventKind::DynamoDb(_), _) => return Err(mismatch("DynamoDB")),
                (EventKind::Sqs(_), _) => return Err(mismatch("SQS")),
                (EventKind::Other(type_name), _) => {
                    tracing::warn!(event = %where_, r#type = %type_name, "event type not driven locally");
                }
            }
        }
    }
    Ok(wiring)
}

/// `/scim/v2/{proxy+}` → `/scim/v2`.
fn base_path(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((base, last)) if last.starts_with('{') && last.ends_with("+}") => base.to_owned(),
        _ => path.to_owned(),
    }
}

/// Globals' variables, then the function's, each resolved; `AWS_REGION`.
/// A value that cannot be resolved locally (a dynamic reference such as
/// `{{resolve:secretsmanager:…}}`, which would put a secret in the
/// environment) stops the stack.
fn function_env(
    template: &Template,
    resolver: &Resolver,
    id: &str,
    spec: &FunctionSpec,
) -> Result<BTreeMap<String, String>, StackError> {
    let mut merged = template.global_env.clone();
    merged.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut env = BTreeMap::new();
    for (name, value) in &merged {
        let resolved = resolver
            .resolve_string(value)
            .map_err(|source| StackError::Resolve {
                what: format!("{id}: environment variable {name}"),
                source,
            })?;
        env.insert(name.clone(), resolved);
    }
    env.insert("AWS_REGION".into(), REGION.into());
    Ok(env)
}

fn function_timeout(
    template: &Template,
    resolver: &Resolver,
    id: &str,
    spec: &FunctionSpec,
) -> Result<Duration, StackError> {
    let Some(value) = spec.timeout.as_ref().or(template.global_timeout.as_ref()) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let text = resolver
        .resolve_string(value)
        .map_err(|source| StackError::Resolve {
            what: format!("{id}: Timeout"),
            source,
        })?;
    text.parse::<u64>().map(Duration::from_secs).map_err(|_| {
        StackError::Template(format!("{id}: Timeout {text:?} is not a number of seconds"))
    })
}

/// Resolves an event's `Properties` and reads them as `T`.
fn typed<T: serde::de::DeserializeOwned>(
    resolver: &Resolver,
    where_: &str,
    properties: &serde_yaml::Value,
) -> Result<T, StackError> {
    let resolved = resolver
        .resolve_tree(properties)
        .map_err(|source| StackError::Resolve {
            what: format!("{where_}.Properties"),
            source,
        })?;
    serde_json::from_value(resolved)
        .map_err(|e| StackError::Template(format!("{where_}.Properties: {e}")))
}

fn filters(where_: &str, criteria: Option<&FilterCriteria>) -> Result<Filters, StackError> {
    Filters::parse(
        criteria
            .iter()
            .flat_map(|c| c.filters.iter().map(|f| f.pattern.as_str())),
    )
    .map_err(|e| StackError::Template(format!("{where_}.FilterCriteria: {e}")))
}

/// -1 (or absent) means "no limit", as in Lambda.
fn limit(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

fn stream_mapping(
    where_: &str,
    props: StreamEventProperties,
    function: functions::StreamFunction,
    provisioned: &Provisioned,
) -> Result<StreamMapping, StackError> {
    let table = provisioned
        .tables
        .values()
        .find(|t| t.stream_arn.as_deref() == Some(props.stream.as_str()))
        .ok_or_else(|| {
            StackError::Template(format!(
                "{where_}: Stream {} is not a table stream of the template",
                props.stream
            ))
        })?;
    let configured = match props.starting_position.as_str() {
        "TRIM_HORIZON" => StartingPosition::TrimHorizon,
        "LATEST" => StartingPosition::Latest,
        other => {
            return Err(StackError::Template(format!(
                "{where_}: StartingPosition {other} is not supported locally"
            )));
        }
    };
    // A table created just now holds nothing to skip; reading it from the
    // start also keeps the first writes from racing the first iterator.
    let starting_position = if table.fresh {
        StartingPosition::TrimHorizon
    } else {
        configured
    };
    let on_failure_queue_url = match props.destination_config.and_then(|d| d.on_failure) {
        Some(on_failure) => Some(
            provisioned
                .queue_by_arn(&on_failure.destination)
                .map(|q| q.url.clone())
                .ok_or_else(|| {
                    StackError::Template(format!(
                        "{where_}: the on-failure destination {} is not a queue of the template",
                        on_failure.destination
                    ))
                })?,
        ),
        None => None,
    };
    Ok(StreamMapping {
        stream_arn: props.stream.clone(),
        starting_position,
        batch_size: limit(props.batch_size).map_or(100, |b| b.clamp(1, 10_000) as usize),
        batching_window: Duration::from_secs(
            limit(props.maximum_batching_window_in_seconds)
                .unwrap_or(0)
                .min(300),
        ),
        report_batch_item_failures: props
            .function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures"),
        retry: RetryPolicy {
            bisect_on_error: props.bisect_batch_on_function_error.unwrap_or(false),
            max_retry_attempts: limit(props.maximum_retry_attempts)
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        },
        max_record_age: limit(props.maximum_record_age_in_seconds).map(Duration::from_secs),
        on_failure_queue_url,
        filters: filters(where_, props.filter_criteria.as_ref())?,
        function,
    })
}

fn queue_mapping(
    where_: &str,
    props: QueueEventProperties,
    function: functions::QueueFunction,
    provisioned: &Provisioned,
) -> Result<QueueMapping, StackError> {
    let queue = provisioned.queue_by_arn(&props.queue).ok_or_else(|| {
        StackError::Template(format!(
            "{where_}: Queue {} is not a queue of the template",
            props.queue
        ))
    })?;
    let batch_size = limit(props.batch_size).unwrap_or(10).max(1);
    if batch_size > 10 {
        tracing::warn!(mapping = %where_, batch_size, "batches above 10 messages are not gathered locally; using 10");
    }
    let pollers = props
        .scaling_config
        .and_then(|s| limit(s.maximum_concurrency))
        .map_or(sqs::DEFAULT_POLLERS, |m| {
            (m as usize).clamp(1, sqs::MAX_POLLERS)
        });
    Ok(QueueMapping {
        queue_url: queue.url.clone(),
        queue_arn: queue.arn.clone(),
        batch_size: batch_size.min(10) as usize,
        batching_window: Duration::from_secs(
            limit(props.maximum_batching_window_in_seconds)
                .unwrap_or(0)
                .min(300),
        ),
        report_batch_item_failures: props
            .function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures"),
        pollers,
        filters: filters(where_, props.filter_criteria.as_ref())?,
        function,
    })
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

    #[test]
    fn base_paths_drop_the_greedy_parameter() {
        assert_eq!(base_path("/scim/v2/{proxy+}"), "/scim/v2");
        assert_eq!(base_path("/health"), "/health");
    }
}
