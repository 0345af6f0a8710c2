//! The Spin glue: request in, [`route`](crate::route) decides, response out.

use spin_sdk::http::{Request, Response};
use spin_sdk::{http_component, variables};

use crate::{route, Facts};

#[http_component]
fn handle(req: Request) -> Response {
    let method = req.method().to_string();
    let reply = route(&method, req.path(), &SpinFacts);
    let mut response = Response::builder();
    response.status(reply.status);
    for (name, value) in reply.headers {
        response.header(name, value);
    }
    response.body(reply.body).build()
}

/// What a Spin component can see: its WASI environment and its application variables.
struct SpinFacts;

impl Facts for SpinFacts {
    fn env(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }

    fn variable(&self, name: &str) -> Option<String> {
        // Every variable the report reads is declared in spin.toml with a default, so an error
        // here means the manifest and the code disagree: treat it as unset, never crash.
        variables::get(name).ok()
    }
}
