//! The Spin glue: request in, [`route`](crate::route) decides, response out.
//!
//! Two things here are deliberate, and each is why this is not spin-sdk's simpler `Request -> Response` form:
//! - The request body is never read: every answer depends only on the method and the path, and the buffered
//!   `Request` would read a body of any size into memory (and wait for one that never comes) before `route`
//!   runs. Dropping the unread `IncomingRequest` leaves the rest to the host.
//! - The response reaches Spin whole, with `content-length`, before it is handed over. spin-sdk's own path sets
//!   the response first and writes the body after (`ResponseOutparam::set_with_body`), so Spin sends the head,
//!   then a chunked body in a second write. Spin never sets TCP_NODELAY on its sockets, so Nagle holds that second
//!   small write until the client's delayed ACK: ~40 ms per request on a keep-alive connection (bench/PROFILE.md).

use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use spin_sdk::{http_component, variables};

use crate::{route, Facts, Reply};

#[http_component]
fn handle(req: IncomingRequest, response_out: ResponseOutparam) {
    let method = req.method().to_string();
    let path = req.path_with_query().unwrap_or_default();
    drop(req);
    let reply = route(&method, &path, &SpinFacts);
    if let Err(err) = send(reply, method != "HEAD", response_out) {
        // Spin answers 500 when no response was set; nothing else can be done from here.
        eprintln!("envapp: could not send the response: {err}");
    }
}

/// Writes the whole body before the response is handed to Spin, so head and body leave in one write.
/// A HEAD reply carries no body and so no `content-length` (the host checks it against the bytes written).
fn send(reply: Reply, with_length: bool, response_out: ResponseOutparam) -> Result<(), String> {
    // Every call into the host costs a trip through Spin's instrumentation: the headers go in one call, and the
    // status only when it is not the 200 a new response has.
    let length = with_length.then(|| {
        (
            "content-length".to_owned(),
            reply.body.len().to_string().into_bytes(),
        )
    });
    let fields: Vec<(String, Vec<u8>)> = reply
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .chain(length)
        .collect();
    let headers = Fields::from_list(&fields).map_err(|e| format!("headers: {e:?}"))?;
    let response = OutgoingResponse::new(headers);
    if reply.status != 200 {
        response
            .set_status_code(reply.status)
            .map_err(|()| format!("status {}", reply.status))?;
    }
    let body = response.body().map_err(|()| "response body taken")?;
    let stream = body.write().map_err(|()| "response body stream taken")?;

    // The host buffers what it allows now (a megabyte or more); a bigger body is finished after handing over.
    let mut rest = reply.body.as_slice();
    while !rest.is_empty() {
        let allowed = stream.check_write().map_err(|e| format!("body: {e}"))?;
        if allowed == 0 {
            break;
        }
        let (now, later) = rest.split_at(rest.len().min(allowed as usize));
        stream.write(now).map_err(|e| format!("body: {e}"))?;
        rest = later;
    }
    let finish = |stream, body| {
        drop(stream);
        OutgoingBody::finish(body, None).map_err(|e| format!("body: {e:?}"))
    };
    if rest.is_empty() {
        finish(stream, body)?;
        ResponseOutparam::set(response_out, response);
        return Ok(());
    }
    ResponseOutparam::set(response_out, response);
    for chunk in rest.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| format!("body: {e}"))?;
    }
    finish(stream, body)
}

/// What a Spin component can see: its WASI environment and its application variables.
struct SpinFacts;

impl Facts for SpinFacts {
    fn env(&self) -> Vec<(String, String)> {
        // `std::env::vars()` would go through the WASI preview 1 adapter Spin wraps every spin-sdk module in,
        // whose first use in an instance allocates its state and grows the linear memory: a fresh instance per
        // request paid that on every request. The direct WASI 0.2 call returns the same list (bench/PROFILE.md).
        wasi::cli::environment::get_environment()
    }

    fn variable(&self, name: &str) -> Option<String> {
        // Every variable the report reads is declared in spin.toml with a default, so an error
        // here means the manifest and the code disagree: treat it as unset, never crash.
        variables::get(name).ok()
    }
}
