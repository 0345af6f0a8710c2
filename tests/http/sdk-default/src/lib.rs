//! spin-sdk's default handler form: the body is buffered before this runs, the answer is sent head first.
//! It reads a Spin variable six times first, as envapp once read six variables: on Spin each read is
//! resolved inside `tokio::task::block_in_place`, after which the response head and the body go out in
//! separate writes, and a keep-alive client waits for its delayed ACK between them.
use spin_sdk::http::{Request, Response};
use spin_sdk::{http_component, variables};

#[http_component]
fn handle(req: Request) -> Response {
    let greeting = (0..6)
        .map(|_| variables::get("greeting").unwrap_or_default())
        .last()
        .unwrap_or_default();
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"greeting\":\"{greeting}\",\"body_bytes\":{}}}\n",
            req.body().len()
        ))
        .build()
}
