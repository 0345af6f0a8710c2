//! The runtime: the component compiled once, a fresh instance per request, served over HTTP/1.1,
//! following Spin's HTTP trigger
//! (https://github.com/spinframework/spin/blob/main/crates/trigger-http/src/server.rs and wasi.rs).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
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

pub struct Server {
    pre: ProxyPre<State>,
    /// The guest's whole WASI environment: nothing leaks in from this process.
    env: Vec<(String, String)>,
    variables: Arc<Variables>,
}

/// What `variables::get` answers from: the component's rendered `variables` table.
struct Variables {
    component_id: String,
    values: BTreeMap<String, String>,
}

impl Server {
    /// Loads and compiles the component and links it, so every failure shows at start-up.
    pub fn new(app: App, extra_env: Vec<(String, String)>) -> Result<Self> {
        let wasm = std::fs::read(&app.source)
            .with_context(|| format!("cannot read component {}", app.source.display()))?;
        // Spin's pooling allocator: memories, tables and stacks are reused between requests instead
        // of mapped and unmapped for each one, which was half a request's CPU (bench/PROFILE.md).
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(
            PoolingAllocationConfig::default(),
        ));
        let engine = Engine::new(&config)?;
        let component = Component::new(&engine, componentize(&wasm)?)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot compile {}", app.source.display()))?;

        let unsupported: Vec<String> = component
            .component_type()
            .imports(&engine)
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

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        variables::add_to_linker::<_, HasSelf<State>>(&mut linker, |state| state)?;
        let pre = linker
            .instantiate_pre(&component)
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
            variables: Arc::new(Variables {
                component_id: app.component_id,
                values: app.variables,
            }),
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
        loop {
            let (stream, client) = tokio::select! {
                signal = &mut shutdown => return signal,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // E.g. out of file descriptors: this connection is lost, the server is not.
                    Err(err) => {
                        eprintln!("accept failed: {err}");
                        continue;
                    }
                },
            };
            // Responses go out as headers then body; without this Nagle holds the second write.
            let _ = stream.set_nodelay(true);
            let server = server.clone();
            tokio::spawn(async move {
                let service = service_fn(|req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(req).await) }
                });
                if let Err(err) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("connection from {client}: {err}");
                }
            });
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<HyperOutgoingBody> {
        // Spin answers the health probe itself, with a plain 200 "OK", any method, and 404 for
        // other well-known paths (this host has no `info`).
        if let Some(well_known) = req.uri().path().strip_prefix(WELL_KNOWN_PREFIX) {
            return match well_known {
                "health" => text(StatusCode::OK, "OK"),
                _ => text(StatusCode::NOT_FOUND, ""),
            };
        }
        match self.call_component(req).await {
            Ok(response) => response,
            Err(err) => {
                eprintln!("Error processing request: {err:?}");
                text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
            }
        }
    }

    /// One request, one fresh instance (as Spin 3 does), so no state survives between requests.
    async fn call_component(&self, req: Request<Incoming>) -> Result<Response<HyperOutgoingBody>> {
        let mut store = Store::new(self.pre.engine(), self.new_state());
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let (response_tx, response_rx) = oneshot::channel();
        let response_out = store.data_mut().http().new_response_outparam(response_tx)?;

        // The guest keeps running after it sets the response, to stream the body.
        let pre = self.pre.clone();
        let guest = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
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
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
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

/// Turns a core module into a component the way Spin loads one built by spin-sdk 5.2: the module
/// carries its WIT in custom sections and WASI preview 1 imports, which the reactor adapter maps
/// to WASI 0.2. A component is used as it is.
fn componentize(wasm: &[u8]) -> Result<Vec<u8>> {
    if wasmparser::Parser::is_component(wasm) {
        return Ok(wasm.to_vec());
    }
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(wasm)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
        .context("cannot turn the core module into a component")
}

/// Per-request store data.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: NoOutboundHttp,
    variables: Arc<Variables>,
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
        vars.values.get(&name).cloned().ok_or_else(|| {
            variables::Error::Undefined(format!("no variable for {:?}.{name:?}", vars.component_id))
        })
    }
}
