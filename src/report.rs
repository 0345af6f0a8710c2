//! The environment report: what `GET /env` answers with.
//!
//! A Spin component sees two things: its WASI environment (spin.toml `environment`, `spin up -e`)
//! and its Spin application variables. Deployment facts (PROD, the pod and node names, the chart's
//! free-form `env`) arrive only as variables, because containerd-shim-spin hands the pod's env to
//! Spin, not to the component; the report shows them under their env-style names.

use std::borrow::Cow;
use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::redact::{is_secret_name, mask_value, REDACTED};

/// Where the report's facts come from: Spin in the component, anything else in tests and benchmarks.
pub trait Facts {
    /// The component's WASI environment.
    fn env(&self) -> Vec<(String, String)>;
    /// A Spin application variable, `None` when it is not set.
    fn variable(&self, name: &str) -> Option<String>;
}

/// Variables shown under their env-style (upper-case) name when not empty: the pod's identity as the chart,
/// the kubelet and containerd put it in the container's env. `PROD` is handled apart: it is always shown.
/// Every one is declared in spin.toml; none may be secret.
pub const DEPLOYMENT_FACTS: [&str; 14] = [
    "pod_name",
    "pod_namespace",
    "node_name",
    "pod_ip",
    "host_ip",
    "pod_uid",
    "service_account",
    "cpu_request_millicores",
    "cpu_limit_millicores",
    "memory_request_mib",
    "memory_limit_mib",
    "kubernetes_service_host",
    "kubernetes_service_port",
    "hostname",
];

/// The environment as the component reports it: names sorted, secrets redacted unless turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvReport(BTreeMap<String, String>);

impl EnvReport {
    /// Collects the WASI environment, then the chart's extra entries, then the deployment facts;
    /// a later source wins a name clash, so a deployment fact cannot be spoofed by `env`.
    pub fn collect(facts: &impl Facts) -> Result<Self> {
        let mut entries: BTreeMap<String, String> = facts.env().into_iter().collect();
        if let Some(extra) = facts.variable("extra_env") {
            entries.extend(parse_extra_env(&extra)?);
        }
        entries.insert("PROD".to_owned(), prod(facts));
        for variable in DEPLOYMENT_FACTS {
            if let Some(value) = fact(facts, variable) {
                entries.insert(variable.to_ascii_uppercase(), value);
            }
        }
        Ok(Self(redact(entries, facts)))
    }

    /// One entry as [`collect`](Self::collect) would show it, reading only the sources that can hold it:
    /// `PROD` reads one variable, a deployment fact one (then the others if it is empty), any other name the
    /// chart's extra entries and the WASI environment. Every variable read costs Spin a thread hand-off.
    pub fn entry(facts: &impl Facts, name: &str) -> Result<Option<String>> {
        let variable = DEPLOYMENT_FACTS
            .into_iter()
            .find(|variable| variable.to_ascii_uppercase() == name);
        let value = if name == "PROD" {
            Some(prod(facts))
        } else if let Some(value) = variable.and_then(|v| fact(facts, v)) {
            Some(value)
        } else {
            let extra = match facts.variable("extra_env") {
                Some(json) => parse_extra_env(&json)?,
                None => Vec::new(),
            };
            extra
                .into_iter()
                .rev()
                .find(|(n, _)| n == name)
                .or_else(|| facts.env().into_iter().rev().find(|(n, _)| n == name))
                .map(|(_, v)| v)
        };
        Ok(value.and_then(|v| redact(BTreeMap::from([(name.to_owned(), v)]), facts).remove(name)))
    }

    /// One entry, as the report shows it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The whole report as a JSON object, keys sorted: written straight from the map, without copying it into a
/// `serde_json::Value` first (every copy costs a wasm instance on every request).
impl Serialize for EnvReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// `PROD` as the report shows it: `"true"` only when the variable `prod` says so (any case), else `"false"`.
fn prod(facts: &impl Facts) -> String {
    facts
        .variable("prod")
        .is_some_and(|v| is_true(&v))
        .to_string()
}

/// A deployment fact's value, `None` when it is unset or empty (the report leaves it out).
fn fact(facts: &impl Facts, variable: &str) -> Option<String> {
    facts.variable(variable).filter(|v| !v.is_empty())
}

/// Hides secret-named values and the credentials inside the others, unless redaction is turned off. The
/// switch is read only when there is something to hide: a report with no secrets reads the same either way,
/// and every variable read costs Spin a thread hand-off (bench/PROFILE.md).
fn redact(mut entries: BTreeMap<String, String>, facts: &impl Facts) -> BTreeMap<String, String> {
    let redacted: Vec<(String, String)> = entries
        .iter()
        .filter_map(|(name, value)| {
            if !is_own_name(name) && is_secret_name(name) {
                Some((name.clone(), REDACTED.to_owned()))
            } else if let Cow::Owned(masked) = mask_value(value) {
                Some((name.clone(), masked))
            } else {
                None
            }
        })
        .collect();
    if !redacted.is_empty() && redaction_on(facts.variable("redact_secrets").as_deref()) {
        entries.extend(redacted);
    }
    entries
}

/// The names the report gives entries itself, PROD and the deployment facts' (`POD_NAME`, ...): none looks secret
/// (a test checks each), so their values are checked for credentials but their names are not matched again on
/// every request, which costs a wasm instance more than the rest of the report.
fn is_own_name(name: &str) -> bool {
    name == "PROD"
        || DEPLOYMENT_FACTS
            .iter()
            .any(|variable| variable.eq_ignore_ascii_case(name))
}

/// Redaction is on unless the variable `redact_secrets` is exactly `false`: any other value, `False` and
/// ` false ` included, keeps it on, so a typo never shows a secret.
pub fn redaction_on(redact_secrets: Option<&str>) -> bool {
    redact_secrets != Some("false")
}

fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

/// The `extra_env` variable: a JSON object whose values are strings (numbers and booleans are
/// taken as written, since a Helm values map may hold them).
fn parse_extra_env(json: &str) -> Result<Vec<(String, String)>> {
    let value: Value =
        serde_json::from_str(json).context("Spin variable extra_env is not valid JSON")?;
    let Value::Object(map) = value else {
        bail!("Spin variable extra_env must be a JSON object of names to strings");
    };
    map.into_iter()
        .map(|(name, value)| match value {
            Value::String(s) => Ok((name, s)),
            Value::Number(_) | Value::Bool(_) => Ok((name, value.to_string())),
            _ => bail!("Spin variable extra_env: the value of {name:?} must be a string"),
        })
        .collect()
}

/// Facts from fixed lists, standing in for Spin in unit tests.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Fixed {
    pub env: Vec<(&'static str, &'static str)>,
    pub vars: Vec<(&'static str, &'static str)>,
}

#[cfg(test)]
impl Facts for Fixed {
    fn env(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    fn variable(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(facts: &Fixed) -> EnvReport {
        EnvReport::collect(facts).expect("report")
    }

    #[test]
    fn prod_defaults_to_false_and_is_always_present() {
        assert_eq!(report(&Fixed::default()).get("PROD"), Some("false"));
    }

    #[test]
    fn prod_variable_true_shows_true_whatever_the_case() {
        for v in ["true", "TRUE", " True "] {
            let r = report(&Fixed {
                vars: vec![("prod", v)],
                ..Default::default()
            });
            assert_eq!(r.get("PROD"), Some("true"), "prod={v:?}");
        }
        let r = report(&Fixed {
            vars: vec![("prod", "yes")],
            ..Default::default()
        });
        assert_eq!(r.get("PROD"), Some("false"));
    }

    #[test]
    fn deployment_facts_show_under_env_names_only_when_set() {
        let r = report(&Fixed {
            vars: vec![
                ("pod_name", "envapp-7d9f"),
                ("pod_namespace", "dev"),
                ("node_name", ""),
            ],
            ..Default::default()
        });
        assert_eq!(r.get("POD_NAME"), Some("envapp-7d9f"));
        assert_eq!(r.get("POD_NAMESPACE"), Some("dev"));
        assert_eq!(r.get("NODE_NAME"), None);
    }

    #[test]
    fn wasi_env_and_extra_env_are_merged_with_facts_winning() {
        let r = report(&Fixed {
            env: vec![("GREETING", "hello"), ("PROD", "spoofed")],
            vars: vec![
                (
                    "extra_env",
                    r#"{"TEAM":"platform","REPLICAS":3,"DEBUG":false}"#,
                ),
                ("prod", "true"),
            ],
        });
        assert_eq!(r.get("GREETING"), Some("hello"));
        assert_eq!(r.get("TEAM"), Some("platform"));
        assert_eq!(r.get("REPLICAS"), Some("3"));
        assert_eq!(r.get("DEBUG"), Some("false"));
        assert_eq!(r.get("PROD"), Some("true"));
    }

    #[test]
    fn extra_env_that_is_not_an_object_of_scalars_is_an_error_naming_the_variable() {
        for bad in [
            "not json",
            "[1,2]",
            r#"{"A":{"nested":1}}"#,
            r#"{"A":null}"#,
        ] {
            let err = EnvReport::collect(&Fixed {
                vars: vec![("extra_env", bad)],
                ..Default::default()
            })
            .expect_err(bad);
            assert!(err.to_string().contains("extra_env"), "{bad}: {err}");
        }
    }

    #[test]
    fn secrets_are_redacted_by_default_and_shown_only_when_turned_off_exactly() {
        let env = vec![("DB_PASSWORD", "hunter2"), ("HOME", "/")];
        let on = report(&Fixed {
            env: env.clone(),
            ..Default::default()
        });
        assert_eq!(on.get("DB_PASSWORD"), Some(REDACTED));
        assert_eq!(on.get("HOME"), Some("/"));
        for not_exactly_false in [
            "flase", "False", "FALSE", " false ", "false\n", "0", "no", "off", "",
        ] {
            let r = report(&Fixed {
                env: env.clone(),
                vars: vec![("redact_secrets", not_exactly_false)],
            });
            assert_eq!(
                r.get("DB_PASSWORD"),
                Some(REDACTED),
                "{not_exactly_false:?}"
            );
        }
        let off = report(&Fixed {
            env,
            vars: vec![("redact_secrets", "false")],
        });
        assert_eq!(off.get("DB_PASSWORD"), Some("hunter2"));
    }

    #[test]
    fn credentials_inside_values_are_masked_and_the_rest_kept() {
        let r = report(&Fixed {
            env: vec![("DATABASE_URL", "postgres://app:hunter2@db/app")],
            ..Default::default()
        });
        assert_eq!(
            r.get("DATABASE_URL"),
            Some("postgres://app:[redacted]@db/app")
        );
    }

    #[test]
    fn the_redaction_switch_is_read_only_when_something_would_be_hidden() {
        struct NoSwitch(Fixed);
        impl Facts for NoSwitch {
            fn env(&self) -> Vec<(String, String)> {
                self.0.env()
            }
            fn variable(&self, name: &str) -> Option<String> {
                assert_ne!(name, "redact_secrets", "read although nothing is secret");
                self.0.variable(name)
            }
        }
        let plain = NoSwitch(Fixed {
            env: vec![("HOME", "/"), ("URL", "https://example.com/x")],
            vars: vec![("prod", "true")],
        });
        assert_eq!(EnvReport::collect(&plain).unwrap().get("HOME"), Some("/"));
    }

    #[test]
    fn one_entry_is_what_the_whole_report_shows_for_every_name() {
        let facts = Fixed {
            env: vec![
                ("GREETING", "hi"),
                ("PROD", "spoofed"),
                ("TEAM", "wasi"),
                ("DB_PASSWORD", "x"),
                ("POD_IP", "from-env"),
                ("DATABASE_URL", "postgres://u:p@h/db"),
            ],
            vars: vec![
                (
                    "extra_env",
                    r#"{"TEAM":"platform","POD_NAME":"spoofed","API_KEY":"k","NODE_NAME":"n0"}"#,
                ),
                ("prod", "true"),
                ("pod_name", "envapp-1"),
                ("node_name", ""),
            ],
        };
        let report = report(&facts);
        let names = [
            "GREETING",
            "PROD",
            "TEAM",
            "DB_PASSWORD",
            "POD_IP",
            "DATABASE_URL",
            "POD_NAME",
            "API_KEY",
            "NODE_NAME",
            "NOPE",
            "prod",
            "pod_name",
        ];
        for name in names {
            assert_eq!(
                EnvReport::entry(&facts, name).unwrap().as_deref(),
                report.get(name),
                "{name}"
            );
        }
    }

    #[test]
    fn one_entry_reads_only_the_variables_it_needs() {
        struct Counting(Fixed, std::cell::RefCell<Vec<String>>);
        impl Facts for Counting {
            fn env(&self) -> Vec<(String, String)> {
                self.1.borrow_mut().push("env".into());
                self.0.env()
            }
            fn variable(&self, name: &str) -> Option<String> {
                self.1.borrow_mut().push(name.into());
                self.0.variable(name)
            }
        }
        let facts = Counting(
            Fixed {
                vars: vec![("prod", "true"), ("pod_name", "p")],
                ..Default::default()
            },
            Default::default(),
        );
        for (name, reads) in [("PROD", vec!["prod"]), ("POD_NAME", vec!["pod_name"])] {
            facts.1.borrow_mut().clear();
            EnvReport::entry(&facts, name).unwrap();
            assert_eq!(*facts.1.borrow(), reads, "{name}");
        }
    }

    #[test]
    fn no_name_the_report_gives_itself_looks_secret() {
        // What makes skipping their name check in `redact` change nothing.
        for name in DEPLOYMENT_FACTS
            .map(str::to_ascii_uppercase)
            .iter()
            .chain([&"PROD".to_owned()])
        {
            assert!(is_own_name(name), "{name}");
            assert!(!is_secret_name(name), "{name}");
        }
        assert!(!is_own_name("DB_PASSWORD") && !is_own_name("POD_NAMES") && !is_own_name("prod"));
    }

    #[test]
    fn redaction_covers_extra_env_too() {
        let r = report(&Fixed {
            vars: vec![("extra_env", r#"{"STRIPE_API_KEY":"sk_live"}"#)],
            ..Default::default()
        });
        assert_eq!(r.get("STRIPE_API_KEY"), Some(REDACTED));
    }

    #[test]
    fn json_keys_are_sorted() {
        let r = report(&Fixed {
            env: vec![("b", "2"), ("A", "1"), ("a", "3")],
            ..Default::default()
        });
        let json = serde_json::to_value(&r).unwrap();
        let keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.first().map(String::as_str), Some("A"));
    }
}
