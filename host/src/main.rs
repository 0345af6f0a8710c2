//! envapp-host: runs a Spin HTTP app the way `spin up` does, for machines without Spin.
//! See `USAGE` for what it supports; anything else in spin.toml is refused at start-up.

mod engine;
mod manifest;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: envapp-host [--listen ADDR] [--env KEY=VALUE]... [--shim-env] [--header-timeout SECONDS]
                   [--no-cache] [MANIFEST]

Runs the HTTP component of a Spin app (manifest v2, one `/...` route) like `spin up`.

  --listen ADDR       address to listen on (default 127.0.0.1:3000; port 0 picks a free one)
  --env KEY=VALUE     add KEY=VALUE to the component's WASI environment (like `spin up -e`)
  --shim-env          also read app variable NAME from env var NAME (upper case), as
                      containerd-shim-spin does for a pod's env
  --header-timeout S  close a connection whose request headers take longer than S seconds, or that
                      stays idle between requests that long (default 30; Spin has no such limit)
  --no-cache          compile the component even if a compiled copy is cached
  MANIFEST            path to spin.toml (default ./spin.toml)

App variables come from SPIN_VARIABLE_<NAME> or their defaults. The compiled component is cached in
$ENVAPP_HOST_CACHE (default ~/.cache/envapp/host-cache). SPIN_MAX_INSTANCE_COUNT (default 1000) bounds
concurrent requests as in Spin; requests over it get 503 with Retry-After. Once listening, prints
`Serving http://ADDR` on stdout. /.well-known/spin/health and /.well-known/spin/info answer as in Spin.
On SIGINT or SIGTERM, prints the largest linear memory an instance used to stderr.";

struct Args {
    listen: SocketAddr,
    env: Vec<(String, String)>,
    shim_env: bool,
    header_timeout: Duration,
    cache: bool,
    manifest: PathBuf,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("envapp-host: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("envapp-host: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let env = |key: &str| std::env::var(key).ok();
    let shim_env = |key: &str| shim_lookup(key, &env);
    let lookup: manifest::Lookup = if args.shim_env { &shim_env } else { &env };
    let app = manifest::load(&args.manifest, lookup)?;
    let engine = engine::engine()?;
    let cache = args.cache.then(engine::default_cache_dir).flatten();
    let component = engine::compile(&engine, &app.source, cache.as_deref())?;
    let server = server::Server::link(&engine, &component, app, args.env, args.header_timeout)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(server.serve(args.listen))
}

/// containerd-shim-spin's rule: before Spin starts, a container env var named like a declared variable
/// (upper case) is copied to `SPIN_VARIABLE_<NAME>`, replacing any value there
/// (`configure_application_variables_from_environment_variables` in containerd-shim-spin/src/utils.rs).
/// Spin only ever asks for `SPIN_VARIABLE_<NAME>` of declared variables, so answering that lookup from
/// `<NAME>` first is the same copy.
fn shim_lookup(key: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    key.strip_prefix("SPIN_VARIABLE_")
        .and_then(env)
        .or_else(|| env(key))
}

/// `Ok(None)` means `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        env: Vec::new(),
        shim_env: false,
        header_timeout: server::DEFAULT_HEADER_TIMEOUT,
        cache: true,
        manifest: PathBuf::from("spin.toml"),
    };
    let mut manifest = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--shim-env" => parsed.shim_env = true,
            "--no-cache" => parsed.cache = false,
            "--header-timeout" => {
                let value = args
                    .next()
                    .ok_or("--header-timeout needs a number of seconds")?;
                parsed.header_timeout = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| *s > 0.0 && s.is_finite())
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        format!("--header-timeout {value:?} is not a positive number of seconds")
                    })?;
            }
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                parsed.listen = value.parse().map_err(|_| {
                    format!("--listen {value:?} is not an address like 127.0.0.1:3000")
                })?;
            }
            "--env" => {
                let value = args.next().ok_or("--env needs KEY=VALUE")?;
                match value.split_once('=') {
                    Some((key, value)) if !key.is_empty() => {
                        parsed.env.push((key.into(), value.into()))
                    }
                    _ => return Err(format!("--env {value:?} is not KEY=VALUE")),
                }
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path if manifest.is_none() => manifest = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument {extra:?} (only one manifest)")),
        }
    }
    if let Some(manifest) = manifest {
        parsed.manifest = manifest;
    }
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_match_spin_up() {
        let args = parse(&[]).unwrap().unwrap();
        assert_eq!(args.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(args.manifest, PathBuf::from("spin.toml"));
        assert!(!args.shim_env && args.env.is_empty() && args.cache);
        assert_eq!(args.header_timeout, Duration::from_secs(30));
    }

    #[test]
    fn all_options_parse() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--env",
            "A=b=c",
            "--env",
            "E=",
            "--shim-env",
            "--header-timeout",
            "0.5",
            "--no-cache",
            "app/spin.toml",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.listen.port(), 0);
        assert_eq!(
            args.env,
            [("A".into(), "b=c".into()), ("E".into(), String::new())]
        );
        assert!(args.shim_env && !args.cache);
        assert_eq!(args.header_timeout, Duration::from_millis(500));
        assert_eq!(args.manifest, PathBuf::from("app/spin.toml"));
    }

    #[test]
    fn shim_env_copies_upper_case_names_over_spin_variables() {
        let env = |key: &str| match key {
            "PROD" => Some("true".to_string()),
            "SPIN_VARIABLE_PROD" => Some("no".to_string()),
            "SPIN_VARIABLE_NODE_NAME" => Some("n1".to_string()),
            _ => None,
        };
        assert_eq!(
            shim_lookup("SPIN_VARIABLE_PROD", &env).as_deref(),
            Some("true")
        );
        assert_eq!(
            shim_lookup("SPIN_VARIABLE_NODE_NAME", &env).as_deref(),
            Some("n1")
        );
        assert_eq!(shim_lookup("SPIN_VARIABLE_POD_NAME", &env), None);
    }

    #[test]
    fn help_and_bad_args() {
        assert!(parse(&["--help"]).unwrap().is_none());
        for bad in [
            &["--listen"][..],
            &["--listen", "nowhere"],
            &["--env", "NOEQUALS"],
            &["--env", "=x"],
            &["--what"],
            &["--header-timeout", "0"],
            &["--header-timeout", "soon"],
            &["a", "b"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
