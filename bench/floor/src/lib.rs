//! The benchmark's floor: what any spin-sdk 5.2 component costs its host per request.
//!
//! It answers every request with envapp's answer under `PROD=true`, as a constant: no routing, no
//! variables, no environment, no JSON building. `make bench` serves it next to envapp on each host and
//! reports envapp as a percentage of it, so the host's own cost per request is taken out of the comparison.
//!
//! The response goes out in one write: `content-length` is set and the body written and finished before
//! the response outparam is set. Spin sets no TCP_NODELAY, so a head written apart from the body would
//! wait for the client's delayed ACK (about 40 ms on a keep-alive connection; bench/PROFILE.md).

use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

/// envapp's answer to `GET /env` with only PROD=true set, byte for byte.
const BODY: &[u8] = b"{\"PROD\":\"true\"}\n";

#[http_component]
fn handle(_req: IncomingRequest, out: ResponseOutparam) {
    // Nothing here can fail on a working host; if the host refuses, dropping `out` unset makes it
    // answer 500, which the benchmark's body check reports.
    let _ = respond(out);
}

fn respond(out: ResponseOutparam) -> Result<(), ()> {
    let headers = Fields::from_list(&[
        ("content-type".to_owned(), b"application/json".to_vec()),
        ("content-length".to_owned(), BODY.len().to_string().into_bytes()),
    ])
    .map_err(drop)?;
    let response = OutgoingResponse::new(headers);
    let body = response.body()?;
    {
        // The host takes 16 bytes at once (check_write grants far more), so one write holds the body.
        let stream = body.write()?;
        if stream.check_write().map_err(drop)? < BODY.len() as u64 {
            return Err(());
        }
        stream.write(BODY).map_err(drop)?;
        // The stream must be dropped before its body is finished.
    }
    OutgoingBody::finish(body, None).map_err(drop)?;
    out.set(response);
    Ok(())
}
