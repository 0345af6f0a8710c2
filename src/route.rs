//! Routing: method and path in, status, headers and JSON body out. No Spin types here.

use serde::Serialize;
use serde_json::json;

use crate::{EnvReport, Facts, PodVariables};

/// An HTTP reply, ready for any host to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The methods every route answers; anything else gets 405 with this in `Allow`.
const ALLOW: &str = "GET, HEAD";

/// Answers one request. `path` may carry a query string, which is ignored.
/// HEAD gets the status and headers GET would get, and no body.
pub fn route(method: &str, path: &str, facts: &impl Facts) -> Reply {
    let mut reply = answer(method, path, facts);
    if method == "HEAD" {
        reply.body.clear();
    }
    reply
}

fn answer(method: &str, path: &str, facts: &impl Facts) -> Reply {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let Some(resource) = Resource::parse(path) else {
        return error(404, &format!("no such path: {path}"));
    };
    match method {
        "GET" | "HEAD" => resource.get(facts),
        _ => {
            let mut reply = error(405, &format!("method {method} not allowed; use {ALLOW}"));
            reply.headers.push(("allow", ALLOW.to_owned()));
            reply
        }
    }
}

/// What a path names.
enum Resource<'a> {
    Env,
    EnvEntry(&'a str),
    Health,
}

impl<'a> Resource<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        match path {
            "/" | "/env" => Some(Self::Env),
            "/healthz" => Some(Self::Health),
            _ => path
                .strip_prefix("/env/")
                .filter(|name| !name.is_empty() && !name.contains('/'))
                .map(Self::EnvEntry),
        }
    }

    /// Health reads no variable; the others read them through [`PodVariables`]: one read in a pod.
    fn get(&self, facts: &impl Facts) -> Reply {
        let answer = |facts| match self {
            Self::Health => Ok(ok(&json!({"status": "ok"}))),
            Self::Env => EnvReport::collect(&PodVariables::read(facts)?).map(|r| ok(&r)),
            Self::EnvEntry(name) => {
                Ok(match EnvReport::entry(&PodVariables::read(facts)?, name)? {
                    Some(value) => ok(&json!({ *name: value })),
                    None => error(404, &format!("no environment entry named {name}")),
                })
            }
        };
        answer(facts).unwrap_or_else(|e: anyhow::Error| error(500, &format!("{e:#}")))
    }
}

fn ok(body: &impl Serialize) -> Reply {
    reply(200, body)
}

fn error(status: u16, message: &str) -> Reply {
    reply(status, &json!({ "error": message }))
}

fn reply(status: u16, body: &impl Serialize) -> Reply {
    // A map of strings always serializes: nothing here can fail.
    let mut body = serde_json::to_vec(body).unwrap_or_default();
    body.push(b'\n');
    Reply {
        status,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            // The environment changes with every deployment: never serve it from a cache.
            ("cache-control", "no-store".to_owned()),
        ],
        body,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::redact::REDACTED;
    use crate::report::Fixed;

    fn get(path: &str, facts: &Fixed) -> (u16, Value) {
        let reply = route("GET", path, facts);
        (
            reply.status,
            serde_json::from_slice(&reply.body).expect("JSON body"),
        )
    }

    fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
        reply
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn root_and_env_answer_the_same_report() {
        let facts = Fixed {
            env: vec![("GREETING", "hi")],
            ..Default::default()
        };
        let (status, root) = get("/", &facts);
        assert_eq!(status, 200);
        assert_eq!(root, get("/env", &facts).1);
        assert_eq!(root, json!({"GREETING": "hi", "PROD": "false"}));
    }

    #[test]
    fn env_entry_answers_one_entry_or_404() {
        let facts = Fixed {
            env: vec![("GREETING", "hi")],
            ..Default::default()
        };
        assert_eq!(
            get("/env/GREETING", &facts),
            (200, json!({"GREETING": "hi"}))
        );
        let (status, body) = get("/env/NOPE", &facts);
        assert_eq!(status, 404);
        assert!(body["error"].as_str().unwrap().contains("NOPE"));
    }

    #[test]
    fn env_entry_is_redacted_like_the_report() {
        let facts = Fixed {
            env: vec![("DB_PASSWORD", "hunter2")],
            ..Default::default()
        };
        assert_eq!(
            get("/env/DB_PASSWORD", &facts),
            (200, json!({"DB_PASSWORD": REDACTED}))
        );
    }

    #[test]
    fn healthz_is_ok() {
        assert_eq!(
            get("/healthz", &Fixed::default()),
            (200, json!({"status": "ok"}))
        );
    }

    #[test]
    fn query_strings_are_ignored() {
        assert_eq!(get("/healthz?verbose=1", &Fixed::default()).0, 200);
    }

    #[test]
    fn unknown_paths_get_404_with_a_json_error() {
        for path in ["/nope", "/env/", "/env/A/B", "", "/ENV", "/healthz/"] {
            let (status, body) = get(path, &Fixed::default());
            assert_eq!(status, 404, "{path:?}");
            assert!(body["error"].is_string(), "{path:?}");
        }
    }

    #[test]
    fn unknown_method_gets_405_with_allow() {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
            let reply = route(method, "/env", &Fixed::default());
            assert_eq!(reply.status, 405, "{method}");
            assert_eq!(header(&reply, "allow"), Some("GET, HEAD"));
            assert_eq!(header(&reply, "content-type"), Some("application/json"));
        }
    }

    #[test]
    fn head_has_the_status_and_headers_of_get_and_no_body() {
        let facts = Fixed::default();
        for path in ["/", "/env", "/env/PROD", "/env/NOPE", "/healthz", "/nope"] {
            let (get, head) = (route("GET", path, &facts), route("HEAD", path, &facts));
            assert_eq!(
                (head.status, &head.headers),
                (get.status, &get.headers),
                "{path}"
            );
            assert!(head.body.is_empty() && !get.body.is_empty(), "{path}");
        }
    }

    #[test]
    fn a_bad_extra_env_is_a_500_naming_the_variable_and_health_stays_ok() {
        let facts = Fixed {
            vars: vec![("extra_env", "{oops")],
            ..Default::default()
        };
        let (status, body) = get("/env", &facts);
        assert_eq!(status, 500);
        assert!(body["error"].as_str().unwrap().contains("extra_env"));
        assert_eq!(get("/healthz", &facts).0, 200);
    }

    #[test]
    fn every_body_is_json_ending_in_a_newline() {
        for (method, path) in [("GET", "/env"), ("GET", "/nope"), ("POST", "/env")] {
            let reply = route(method, path, &Fixed::default());
            assert_eq!(reply.body.last(), Some(&b'\n'));
        }
    }
}
