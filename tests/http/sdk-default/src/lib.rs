//! spin-sdk's default handler form: the body is buffered before this runs, the answer is sent head first.
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(format!("{{\"body_bytes\":{}}}\n", req.body().len()))
        .build()
}
