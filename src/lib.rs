//! envapp: an internal HTTP service that answers with the environment it runs in, as JSON.
//!
//! The logic (routing, the report, redaction, error bodies) is plain Rust in [`route`] and
//! [`report`], built and unit-tested on the host; [`pod`] makes a pod's variables one read. [`spin`]
//! only adapts Spin's types to it, and exists only in the wasm build.

pub mod pod;
pub mod redact;
pub mod report;
pub mod route;

#[cfg(target_arch = "wasm32")]
mod spin;

pub use pod::PodVariables;
pub use report::{EnvReport, Facts};
pub use route::{route, Reply};
