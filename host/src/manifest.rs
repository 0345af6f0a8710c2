//! spin.toml (manifest v2) parsing and application-variable resolution, for the subset of Spin
//! that envapp uses. Whatever Spin supports but this host does not is rejected with its name,
//! so the dev host never silently behaves differently from `spin up`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

/// The one component the app routes to, with everything resolved at start-up.
#[derive(Debug)]
pub struct App {
    /// `[application]` name and version, for `/.well-known/spin/info`.
    pub name: String,
    pub version: Option<String>,
    pub component_id: String,
    /// The component's Wasm file, resolved against the manifest's directory.
    pub source: PathBuf,
    /// The component's WASI environment (`environment` table).
    pub environment: BTreeMap<String, String>,
    /// The component's variables (`[component.<id>.variables]`), templates already rendered.
    pub variables: BTreeMap<String, String>,
}

/// Process environment lookup, injected so resolution is testable without touching `std::env`.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Loads the manifest at `path` and resolves its variables from `env`, as Spin does.
pub fn load(path: &Path, env: Lookup) -> Result<App> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read manifest {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base, env).with_context(|| format!("in manifest {}", path.display()))
}

fn parse(text: &str, base: &Path, env: Lookup) -> Result<App> {
    let manifest: Manifest = toml::from_str(text)?;
    ensure!(
        manifest.spin_manifest_version == 2,
        "spin_manifest_version {} is not supported (only 2)",
        manifest.spin_manifest_version
    );
    let [trigger] = manifest.trigger.http.as_slice() else {
        bail!(
            "exactly one [[trigger.http]] is supported, found {}",
            manifest.trigger.http.len()
        );
    };
    // Only the catch-all route: it hands the component every path unchanged, which is all envapp
    // needs, and keeps this host free of Spin's router.
    ensure!(
        trigger.route == "/...",
        "trigger route {:?} is not supported (only \"/...\")",
        trigger.route
    );
    let component = manifest
        .component
        .get(&trigger.component)
        .with_context(|| {
            format!(
                "the trigger names component {:?}, which is not defined",
                trigger.component
            )
        })?;
    ensure!(
        component.allowed_outbound_hosts.is_empty(),
        "component {:?}: allowed_outbound_hosts is not supported (this host gives the guest no network)",
        trigger.component
    );

    let values = resolve_app_variables(&manifest.variables, env)?;
    let variables = component
        .variables
        .iter()
        .map(|(name, template)| {
            validate_name(name)
                .map_err(|reason| anyhow::anyhow!("invalid variable name {name:?}: {reason}"))?;
            let value = render(template, &values)
                .with_context(|| format!("component {:?} variable {name:?}", trigger.component))?;
            Ok((name.clone(), value))
        })
        .collect::<Result<_>>()?;

    Ok(App {
        name: manifest.application.name,
        version: manifest.application.version,
        component_id: trigger.component.clone(),
        source: base.join(&component.source),
        environment: component.environment.clone(),
        variables,
    })
}

/// Resolves every application variable the way Spin's environment-variable provider does:
/// `SPIN_VARIABLE_<NAME>` if set, else the default; a required variable without a value fails
/// start-up (https://github.com/spinframework/spin/blob/main/crates/variables/src/env.rs).
fn resolve_app_variables(
    declared: &BTreeMap<String, Variable>,
    env: Lookup,
) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (name, variable) in declared {
        validate_name(name)
            .map_err(|reason| anyhow::anyhow!("invalid variable name {name:?}: {reason}"))?;
        ensure!(
            variable.default.is_some() != variable.required,
            "variable {name:?} must have either a default or `required = true`, not both or neither"
        );
        let upper = name.to_ascii_uppercase();
        let Some(value) =
            env(&format!("SPIN_VARIABLE_{upper}")).or_else(|| variable.default.clone())
        else {
            bail!("required variable {name:?} has no value: set SPIN_VARIABLE_{upper}");
        };
        values.insert(name.clone(), value);
    }
    Ok(values)
}

/// Renders a component variable template: literal text with `{{ name }}` references to app
/// variables, parsed like Spin's (https://github.com/spinframework/spin/blob/main/crates/expressions/src/template.rs).
fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some((expr, after)) = rest[start + 2..].split_once("}}") else {
            bail!("invalid variable template: unmatched '{{{{' in {template:?}");
        };
        let name = expr.trim();
        let value = values
            .get(name)
            .with_context(|| format!("invalid variable template: unknown variable {name:?}"))?;
        out.push_str(value);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// Spin's rule for variable names (`Key::validate` in
/// https://github.com/spinframework/spin/blob/main/crates/expressions/src/lib.rs); the reason
/// text is Spin's, because the guest sees it in `error::invalid-name`.
pub fn validate_name(name: &str) -> Result<(), String> {
    let Some(first) = name.bytes().next() else {
        return Err("must not be empty".into());
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        Err(format!(
            "invalid character {bad:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        ))
    } else if !first.is_ascii_lowercase() {
        Err("must start with a lowercase ASCII letter".into())
    } else if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        Err("must end with a lowercase ASCII letter or digit".into())
    } else if name.contains("__") {
        Err("must not contain multiple consecutive underscores".into())
    } else {
        Ok(())
    }
}

// The manifest, as far as this host understands it. `deny_unknown_fields` turns every Spin
// feature it does not implement (key_value_stores, files, other triggers...) into an error
// naming the field.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    spin_manifest_version: u32,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, Variable>,
    trigger: Triggers,
    #[serde(default)]
    component: BTreeMap<String, Component>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Application {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default, rename = "authors")]
    _authors: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Variable {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    required: bool,
    // Secrecy only affects how Spin logs a value; accepted and otherwise ignored.
    #[serde(default, rename = "secret")]
    _secret: bool,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Triggers {
    http: Vec<HttpTrigger>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpTrigger {
    route: String,
    component: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Component {
    /// Only a local path: remote sources (`{ url, digest }`) fail to parse here.
    source: PathBuf,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    // Build settings are for `spin build`, which this host does not do.
    #[serde(default, rename = "build")]
    _build: Option<toml::Table>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
        spin_manifest_version = 2
        [application]
        name = "demo"
        [variables]
        prod = { default = "false" }
        token = { required = true, secret = true }
        [[trigger.http]]
        route = "/..."
        component = "demo"
        [component.demo]
        source = "target/demo.wasm"
        allowed_outbound_hosts = []
        environment = { GREETING = "hi" }
        [component.demo.variables]
        prod = "{{ prod }}"
        banner = "prod={{prod}}, token={{ token }}!"
        [component.demo.build]
        command = "cargo build"
    "#;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    fn parse_with(text: &str, pairs: &'static [(&'static str, &'static str)]) -> Result<App> {
        parse(text, Path::new("/app"), &env(pairs))
    }

    #[test]
    fn defaults_and_spin_variable_env_fill_templates() {
        let app = parse_with(MANIFEST, &[("SPIN_VARIABLE_TOKEN", "t0k")]).unwrap();
        assert_eq!(app.component_id, "demo");
        assert_eq!(app.source, Path::new("/app/target/demo.wasm"));
        assert_eq!(app.environment["GREETING"], "hi");
        assert_eq!(app.variables["prod"], "false");
        assert_eq!(app.variables["banner"], "prod=false, token=t0k!");
    }

    #[test]
    fn spin_variable_env_overrides_default() {
        let app = parse_with(
            MANIFEST,
            &[("SPIN_VARIABLE_PROD", "true"), ("SPIN_VARIABLE_TOKEN", "x")],
        )
        .unwrap();
        assert_eq!(app.variables["prod"], "true");
    }

    #[test]
    fn required_variable_without_value_names_it() {
        let err = parse_with(MANIFEST, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("\"token\""), "{err:#}");
    }

    #[test]
    fn unknown_template_reference_fails_start_up() {
        let text = MANIFEST.replace("{{ prod }}", "{{ nope }}");
        let err = parse_with(&text, &[("SPIN_VARIABLE_TOKEN", "x")]).unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown variable \"nope\""),
            "{err:#}"
        );
    }

    #[test]
    fn unmatched_braces_fail_start_up() {
        let text = MANIFEST.replace("{{ prod }}", "{{ prod");
        assert!(parse_with(&text, &[("SPIN_VARIABLE_TOKEN", "x")]).is_err());
    }

    #[test]
    fn unsupported_features_are_named() {
        let kv = MANIFEST.replace(
            "allowed_outbound_hosts = []",
            "key_value_stores = [\"default\"]",
        );
        let err = parse_with(&kv, &[("SPIN_VARIABLE_TOKEN", "x")]).unwrap_err();
        assert!(format!("{err:#}").contains("key_value_stores"), "{err:#}");

        let route = MANIFEST.replace("route = \"/...\"", "route = \"/api/...\"");
        assert!(parse_with(&route, &[("SPIN_VARIABLE_TOKEN", "x")]).is_err());

        let net = MANIFEST.replace(
            "allowed_outbound_hosts = []",
            "allowed_outbound_hosts = [\"https://x\"]",
        );
        assert!(parse_with(&net, &[("SPIN_VARIABLE_TOKEN", "x")]).is_err());
    }

    #[test]
    fn variable_needs_default_or_required() {
        let text = MANIFEST.replace("prod = { default = \"false\" }", "prod = {}");
        assert!(parse_with(&text, &[("SPIN_VARIABLE_TOKEN", "x")]).is_err());
    }

    #[test]
    fn names_follow_spin_rules() {
        for good in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3"] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_real_envapp_manifest() {
        // The directory cargo runs the test from, not the one it was compiled in: scripts/test.sh
        // builds the host in a target directory shared by every clone, where a binary compiled
        // from another clone can be reused.
        let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test");
        let path = Path::new(&dir).join("../spin.toml");
        let app = load(&path, &|_| None).unwrap();
        assert_eq!(
            (app.name.as_str(), app.version.as_deref()),
            ("envapp", Some("0.1.0"))
        );
        assert_eq!(app.component_id, "envapp");
        assert_eq!(app.variables["prod"], "false");
    }
}
