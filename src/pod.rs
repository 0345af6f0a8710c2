//! In a pod, every variable in one read.
//!
//! Each Spin variable read costs Spin a thread hand-off (bench/PROFILE.md), and a pod's report needs 17 of
//! them. So the chart composes all of a pod's values into the one variable [`POD_VARIABLES`], a JSON object of
//! variable names to values that Kubernetes completes at pod start (`"pod_name": "$(POD_NAME)"`, ...). When it
//! is set, every variable is answered from it and nothing else is read; when it is empty (`spin up`,
//! `make up`), each variable is read on its own, as before.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::Facts;

/// The Spin variable that carries, in a pod, the values of all the others (spin.toml).
pub const POD_VARIABLES: &str = "pod_variables";

/// [`Facts`] whose variables come from [`POD_VARIABLES`] when it is set, else one read each from `facts`.
pub struct PodVariables<'a, F> {
    facts: &'a F,
    values: Option<BTreeMap<String, String>>,
}

impl<'a, F: Facts> PodVariables<'a, F> {
    /// Reads [`POD_VARIABLES`] once. An error names the variable: it is not a JSON object of strings.
    pub fn read(facts: &'a F) -> Result<Self> {
        let values = match facts.variable(POD_VARIABLES) {
            Some(json) if !json.is_empty() => Some(parse(&json)?),
            _ => None,
        };
        Ok(Self { facts, values })
    }
}

impl<F: Facts> Facts for PodVariables<'_, F> {
    fn env(&self) -> Vec<(String, String)> {
        self.facts.env()
    }

    /// A variable the composed object leaves out is unset, as an empty one is: it is never read on its own.
    fn variable(&self, name: &str) -> Option<String> {
        match &self.values {
            Some(values) => values.get(name).cloned(),
            None => self.facts.variable(name),
        }
    }
}

fn parse(json: &str) -> Result<BTreeMap<String, String>> {
    // The usual case in one pass; the slower one below only to say what is wrong.
    serde_json::from_str(json).or_else(|_| explain(json))
}

/// Why `json` is not an object of strings (an error always; `Ok` only if it is one after all).
fn explain(json: &str) -> Result<BTreeMap<String, String>> {
    let value: Value = serde_json::from_str(json)
        .with_context(|| format!("Spin variable {POD_VARIABLES} is not valid JSON"))?;
    let Value::Object(map) = value else {
        bail!("Spin variable {POD_VARIABLES} must be a JSON object of variable names to strings");
    };
    map.into_iter()
        .map(|(name, value)| match value {
            Value::String(s) => Ok((name, s)),
            _ => bail!("Spin variable {POD_VARIABLES}: the value of {name:?} must be a string"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::report::Fixed;
    use crate::{route, EnvReport};

    /// Records every variable read.
    struct Counting(Fixed, RefCell<Vec<String>>);

    impl Facts for Counting {
        fn env(&self) -> Vec<(String, String)> {
            self.0.env()
        }
        fn variable(&self, name: &str) -> Option<String> {
            self.1.borrow_mut().push(name.to_owned());
            self.0.variable(name)
        }
    }

    const POD: &str = r#"{"prod":"true","pod_name":"envapp-1","node_name":"worker2","hostname":"envapp-1",
        "extra_env":"{\"TEAM\":\"platform\",\"DB_PASSWORD\":\"x\",\"PRICE\":\"$(POD_NAME)\"}"}"#;

    #[test]
    fn in_a_pod_every_route_reads_one_variable_and_healthz_none() {
        for (path, reads) in [
            ("/env", 1),
            ("/", 1),
            ("/env/PROD", 1),
            ("/env/TEAM", 1),
            ("/env/DB_PASSWORD", 1),
            ("/env/NOPE", 1),
            ("/healthz", 0),
            ("/nope", 0),
        ] {
            let facts = Counting(
                Fixed {
                    vars: vec![(POD_VARIABLES, POD), ("prod", "false")],
                    ..Default::default()
                },
                RefCell::default(),
            );
            route("GET", path, &facts);
            assert_eq!(
                facts.1.borrow().len(),
                reads,
                "{path}: {:?}",
                facts.1.borrow()
            );
        }
    }

    #[test]
    fn the_composed_object_answers_exactly_what_the_variables_one_by_one_answer() {
        let one_by_one = Fixed {
            env: vec![("GREETING", "hi")],
            vars: vec![
                ("prod", "true"),
                ("pod_name", "envapp-1"),
                ("node_name", "worker2"),
                ("hostname", "envapp-1"),
                (
                    "extra_env",
                    r#"{"TEAM":"platform","DB_PASSWORD":"x","PRICE":"$(POD_NAME)"}"#,
                ),
            ],
        };
        let composed = Fixed {
            env: vec![("GREETING", "hi")],
            // Individual variables that disagree are never read: the composed object wins whole.
            vars: vec![
                (POD_VARIABLES, POD),
                ("prod", "false"),
                ("pod_name", "stale"),
            ],
        };
        for path in [
            "/env",
            "/env/PROD",
            "/env/POD_NAME",
            "/env/DB_PASSWORD",
            "/env/PRICE",
        ] {
            assert_eq!(
                route("GET", path, &composed),
                route("GET", path, &one_by_one),
                "{path}"
            );
        }
        let report = EnvReport::collect(&PodVariables::read(&composed).unwrap()).unwrap();
        assert_eq!(report.get("PROD"), Some("true"));
        assert_eq!(report.get("PRICE"), Some("$(POD_NAME)"));
    }

    #[test]
    fn without_the_composed_object_each_variable_is_read_on_its_own() {
        for unset in [vec![], vec![(POD_VARIABLES, "")]] {
            let mut vars = unset.clone();
            vars.push(("prod", "true"));
            let fixed = Fixed {
                vars,
                ..Default::default()
            };
            let facts = PodVariables::read(&fixed).unwrap();
            assert_eq!(facts.variable("prod").as_deref(), Some("true"), "{unset:?}");
        }
    }

    #[test]
    fn a_composed_object_that_is_not_an_object_of_strings_is_an_error_naming_it() {
        for bad in ["{oops", "[]", r#"{"prod":true}"#, r#"{"extra_env":{}}"#] {
            let facts = Fixed {
                vars: vec![(POD_VARIABLES, bad)],
                ..Default::default()
            };
            let err = PodVariables::read(&facts).err().expect(bad);
            assert!(err.to_string().contains(POD_VARIABLES), "{bad}: {err}");
            let reply = route("GET", "/env", &facts);
            assert_eq!(reply.status, 500, "{bad}");
            assert_eq!(route("GET", "/healthz", &facts).status, 200, "{bad}");
        }
    }
}
