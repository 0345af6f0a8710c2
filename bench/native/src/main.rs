//! envapp-native: `envapp::route` served by a native hyper server, the benchmark's practical limit.
//!
//! It sees what the component sees under Spin: a WASI environment that is empty unless given with
//! `--env K=V` (spin.toml has `environment = {}`), and Spin variables read from
//! `SPIN_VARIABLE_<NAME>`, unset meaning spin.toml's default. So it answers with the same bytes.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const USAGE: &str = "usage: envapp-native [--listen ADDR] [--env KEY=VALUE]...
Serves envapp's routes natively; prints `Serving http://ADDR` once listening.";

fn main() {
    let (listen, env) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("envapp-native: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let facts = Arc::new(ProcessFacts { env });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Err(err) = runtime.block_on(serve(listen, facts)) {
        eprintln!("envapp-native: {err}");
        std::process::exit(1);
    }
}

async fn serve(listen: SocketAddr, facts: Arc<ProcessFacts>) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "Serving http://{}", listener.local_addr()?)?;
    stdout.flush()?;
    loop {
        let (stream, _) = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => { eprintln!("accept failed: {err}"); continue; }
            },
        };
        // As envapp-host does: headers and body go out as two writes, Nagle would hold the second.
        let _ = stream.set_nodelay(true);
        let facts = facts.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let facts = facts.clone();
                async move { Ok::<_, Infallible>(handle(&req, &*facts)) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn handle(req: &Request<Incoming>, facts: &ProcessFacts) -> Response<Full<Bytes>> {
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let reply = envapp::route(req.method().as_str(), path, facts);
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(Full::new(Bytes::from(reply.body))).expect("valid response")
}

/// The component's view of the world, reproduced natively.
struct ProcessFacts {
    env: Vec<(String, String)>,
}

impl envapp::Facts for ProcessFacts {
    fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// Read on every request, as the component calls `variables::get` on every request.
    fn variable(&self, name: &str) -> Option<String> {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Vec<(String, String)>), String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 3000));
    let mut env = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                listen = value.parse().map_err(|_| format!("--listen {value:?} is not an address"))?;
            }
            "--env" => {
                let value = args.next().ok_or("--env needs KEY=VALUE")?;
                let (k, v) = value.split_once('=').ok_or(format!("--env {value:?} is not KEY=VALUE"))?;
                env.push((k.to_owned(), v.to_owned()));
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok((listen, env))
}
