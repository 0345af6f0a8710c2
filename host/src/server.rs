//! Serving: the compiled component linked once, a fresh instance per request, HTTP/1.1 on hyper,
//! following Spin's HTTP trigger (spin crates/trigger-http/src/server.rs and wasi.rs, v3.6.3) wherever a
//! client can tell the difference. Where this host differs on purpose, the comment says so.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, PoolConcurrencyLimitError, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::manifest::{App, validate_name};

// `fermyon:spin/variables@2.0.0`, exactly as spin-sdk 5.2 declares it (wit/deps/spin@2.0.0/variables.wit).
wasmtime::component::bindgen!({
    inline: "
        package fermyon:spin@2.0.0;

        interface variables {
            get: func(name: string) -> result<string, error>;

            variant error {
                invalid-name(string),
                undefined(string),
                provider(string),
                other(string),
            }
        }

        world spin-variables {
            import variables;
        }
    ",
});

use fermyon::spin::variables;

/// Spin's reserved prefix: it answers these paths itself, without calling any component.
const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// How long a client may take to send a request's headers, and how long an idle keep-alive connection
/// stays open (hyper runs one timer for both). Spin sets neither (its hyper server has no timer), so a
/// silent client holds a connection forever there; this host closes it.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    pre: ProxyPre<State>,
    /// The guest's whole WASI environment: nothing leaks in from this process.
    env: Vec<(String, String)>,
    variables: Arc<Variables>,
    /// `/.well-known/spin/info`, rendered once.
    info: Bytes,
    header_timeout: Duration,
    /// The largest linear memory any instance has asked for, reported at shutdown.
    memory_high_water: Arc<AtomicUsize>,
}

/// What `variables::get` answers from: the component's rendered `variables` table.
struct Variables {
    component_id: String,
    values: BTreeMap<String, String>,
}

impl Server {
    /// Links the compiled component to what this host provides (WASI 0.2, wasi:http 0.2 and Spin's
    /// variables), so a component that needs anything else fails at start-up, naming it.
    pub fn link(
        engine: &Engine,
        component: &Component,
        app: App,
        extra_env: Vec<(String, String)>,
        header_timeout: Duration,
    ) -> Result<Self> {
        let unsupported: Vec<String> = component
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .filter(|name| {
                name.starts_with("fermyon:spin/") && name != "fermyon:spin/variables@2.0.0"
            })
            .collect();
        if !unsupported.is_empty() {
            bail!(
                "component {:?} imports Spin interfaces this dev host does not provide: {}",
                app.component_id,
                unsupported.join(", ")
            );
        }

        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        variables::add_to_linker::<_, HasSelf<State>>(&mut linker, |state| state)?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component needs imports this dev host does not provide (it has WASI 0.2, wasi:http 0.2 and fermyon:spin/variables@2.0.0)")?;
        let pre = ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler@0.2.0")?;

        // `--env` entries come last and win over a manifest entry of the same name.
        let mut env = app.environment;
        env.extend(extra_env);
        Ok(Self {
            pre,
            env: env.into_iter().collect(),
            info: app_info(&app.name, app.version.as_deref()),
            variables: Arc::new(Variables {
                component_id: app.component_id,
                values: app.variables,
            }),
            header_timeout,
            memory_high_water: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Serves until SIGINT or SIGTERM. Prints `Serving http://<addr>` once listening.
    pub async fn serve(self, listen: SocketAddr) -> Result<()> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "Serving http://{}", listener.local_addr()?)?;
        stdout.flush()?;

        let server = Arc::new(self);
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let mut backoff = AcceptBackoff::default();
        loop {
            let accepted = tokio::select! {
                signal = &mut shutdown => {
                    eprintln!(
                        "envapp-host: instance memory high-water mark: {} bytes",
                        server.memory_high_water.load(Ordering::Relaxed)
                    );
                    return signal;
                }
                accepted = listener.accept() => accepted,
            };
            let (stream, client) = match accepted {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                // E.g. out of file descriptors (EMFILE): Spin's accept loop returns the error and the trigger
                // stops. This host keeps serving: it waits (10 ms, doubling to 1 s) for connections to close,
                // and says so once per burst, not once per failed accept.
                Err(err) => {
                    backoff.wait(&err).await;
                    continue;
                }
            };
            // No TCP_NODELAY: Spin never sets it (no `nodelay` anywhere in spinframework/spin), so a response
            // written in two pieces waits for the client's delayed ACK there. Serving the same way here keeps
            // that visible in tests and benchmarks instead of hiding it.
            let server = server.clone();
            tokio::spawn(async move {
                let service = service_fn(|req| {
                    let server = server.clone();
                    async move { server.handle(req).await }
                });
                let mut http = http1::Builder::new();
                http.timer(TokioTimer::new())
                    .header_read_timeout(server.header_timeout);
                // Timeouts, clients that hang up mid-request and requests refused for their authority are
                // the client's doing; anything else is worth a line.
                if let Err(err) = http.serve_connection(TokioIo::new(stream), service).await
                    && !err.is_timeout()
                    && !err.is_incomplete_message()
                    && !err.is_user()
                {
                    eprintln!("connection from {client}: {err}");
                }
            });
        }
    }

    /// One request. An `Err` makes hyper close the connection without an answer, which is what Spin
    /// does when it cannot tell the request's authority (no `Host`, or one that is not a valid authority).
    async fn handle(&self, req: Request<Incoming>) -> Result<Response<HyperOutgoingBody>> {
        // Spin answers these itself, before anything else: the health probe (any method, plain "OK"), the
        // app's name and version, and an empty 404 for any other name under the prefix.
        if let Some(well_known) = req.uri().path().strip_prefix(WELL_KNOWN_PREFIX) {
            return Ok(match well_known {
                "health" => full(StatusCode::OK, Bytes::from_static(b"OK"), None),
                "info" => full(StatusCode::OK, self.info.clone(), Some("application/json")),
                _ => full(StatusCode::NOT_FOUND, Bytes::new(), None),
            });
        }
        check_authority(&req)?;
        match self.call_component(req).await {
            Ok(response) => Ok(response),
            // Every instance is in use. Spin answers 500 here; this host answers what it is, a temporary
            // overload, so clients and load balancers retry elsewhere instead of counting a failure.
            Err(err) if err.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                let mut response = full(StatusCode::SERVICE_UNAVAILABLE, Bytes::new(), None);
                response
                    .headers_mut()
                    .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
                Ok(response)
            }
            Err(err) => {
                // As Spin: the error goes to the log, the client gets an empty 500.
                eprintln!("Error processing request: {err:?}");
                Ok(full(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new(), None))
            }
        }
    }

    /// One request, one fresh instance (as Spin 3 does), so no state survives between requests.
    async fn call_component(&self, req: Request<Incoming>) -> Result<Response<HyperOutgoingBody>> {
        let mut store = Store::new(self.pre.engine(), self.new_state());
        store.limiter(|state| &mut state.limiter);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let (response_tx, response_rx) = oneshot::channel();
        let response_out = store.data_mut().http().new_response_outparam(response_tx)?;

        // The guest keeps running after it sets the response, to stream the body.
        let guest = tokio::spawn(async move {
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, response_out)
                .await
        });

        match response_rx.await {
            Ok(response) => {
                tokio::spawn(async move {
                    if let Ok(Err(err)) = guest.await {
                        eprintln!("Component error after response started: {err:?}");
                    }
                });
                response.context("guest failed to produce a response")
            }
            Err(_) => {
                guest
                    .await
                    .context("guest invocation panicked")?
                    .map_err(anyhow::Error::from)
                    .context("guest invocation failed")?;
                bail!("guest failed to produce a response prior to returning")
            }
        }
    }

    fn new_state(&self) -> State {
        let wasi = WasiCtx::builder()
            .envs(&self.env)
            .inherit_stdout()
            .inherit_stderr()
            .build();
        State {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: NoOutboundHttp,
            variables: self.variables.clone(),
            limiter: MemoryHighWater(self.memory_high_water.clone()),
        }
    }
}

/// Spin's rule (trigger-http `set_req_uri`): the authority comes from `Host` or the request URI, must be
/// valid, and must agree when both are present.
fn check_authority(req: &Request<Incoming>) -> Result<()> {
    let from_header = req
        .headers()
        .get(hyper::header::HOST)
        .map(|h| {
            let host = h.to_str().context("'Host' header is not valid UTF-8")?;
            host.parse::<hyper::http::uri::Authority>()
                .context("'Host' header contains an invalid authority")
        })
        .transpose()?;
    match (from_header, req.uri().authority()) {
        (None, None) => bail!("no 'Host' header present in request"),
        (Some(a), Some(b)) if &a != b => {
            bail!("authority in 'Host' header does not match authority in URI")
        }
        _ => Ok(()),
    }
}

/// `/.well-known/spin/info` as Spin renders it (spin crates/http/src/app_info.rs, pretty JSON).
fn app_info(name: &str, version: Option<&str>) -> Bytes {
    let mut body = format!("{{\n  \"name\": {}", json_string(name));
    if let Some(version) = version {
        body.push_str(&format!(",\n  \"version\": {}", json_string(version)));
    }
    body.push_str("\n}");
    Bytes::from(body)
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn full(
    status: StatusCode,
    body: Bytes,
    content_type: Option<&'static str>,
) -> Response<HyperOutgoingBody> {
    let body = Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
    }
    response
}

/// Waits after a failed accept, 10 ms doubling to 1 s, and reports once per burst of failures.
#[derive(Default)]
struct AcceptBackoff {
    delay: Option<Duration>,
    failures: u64,
}

impl AcceptBackoff {
    async fn wait(&mut self, err: &std::io::Error) {
        if self.failures == 0 {
            eprintln!("envapp-host: accept failed: {err}; backing off until connections close");
        }
        self.failures += 1;
        let delay = self.delay.map_or(Duration::from_millis(10), |d| {
            (d * 2).min(Duration::from_secs(1))
        });
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        if self.failures > 0 {
            eprintln!(
                "envapp-host: accepting again after {} failed accepts",
                self.failures
            );
        }
        *self = Self::default();
    }
}

async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// Per-request store data.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: NoOutboundHttp,
    variables: Arc<Variables>,
    limiter: MemoryHighWater,
}

/// Allows every growth (the pool bounds memory) and records the largest linear memory asked for.
struct MemoryHighWater(Arc<AtomicUsize>);

impl ResourceLimiter for MemoryHighWater {
    fn memory_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.0.fetch_max(desired, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Spin with `allowed_outbound_hosts = []` links `wasi:http/outgoing-handler` but refuses every
/// request; so does this host.
struct NoOutboundHttp;

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                hyper::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for NoOutboundHttp {
    fn send_request(
        &mut self,
        _request: hyper::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _done: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// Spin's semantics and messages (spin crates/factor-variables, `expressions_to_variables_err`).
impl variables::Host for State {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        if let Err(reason) = validate_name(&name) {
            return Err(variables::Error::InvalidName(format!("{name:?}: {reason}")));
        }
        let vars = &self.variables;
        let value = vars.values.get(&name).ok_or_else(|| {
            variables::Error::Undefined(format!("no variable for {:?}.{name:?}", vars.component_id))
        })?;
        // Spin's environment-variable provider reads every value inside `tokio::task::block_in_place`
        // (spin crates/variables-env, `EnvVariablesProvider::get`), which hands this worker's other tasks to
        // another thread. That costs a thread hand-off per variable and lets the connection's task run
        // beside the guest, so a response handed over before its body is written goes out in two writes.
        // Values were resolved at start-up; the hand-off is kept so requests are scheduled as under Spin.
        Ok(tokio::task::block_in_place(|| value.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_spins_pretty_json() {
        assert_eq!(
            app_info("envapp", Some("0.1.0")),
            "{\n  \"name\": \"envapp\",\n  \"version\": \"0.1.0\"\n}"
        );
        assert_eq!(app_info("a\"b", None), "{\n  \"name\": \"a\\\"b\"\n}");
    }
}
