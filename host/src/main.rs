//! envapp-host: runs a Spin HTTP app the way `spin up` does, for machines without Spin.
//! See `USAGE` for what it supports; anything else in spin.toml is refused at start-up.

mod manifest;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: envapp-host [--listen ADDR] [--env KEY=VALUE]... [--shim-env] [MANIFEST]

Runs the HTTP component of a Spin app (manifest v2, one `/...` route) like `spin up`.

  --listen ADDR      address to listen on (default 127.0.0.1:3000; port 0 picks a free one)
  --env KEY=VALUE    add KEY=VALUE to the component's WASI environment (like `spin up -e`)
  --shim-env         also read app variable NAME from env var NAME (upper case), as
                     containerd-shim-spin does for a pod's env
  MANIFEST           path to spin.toml (default ./spin.toml)

App variables come from SPIN_VARIABLE_<NAME> or their defaults. Once listening, prints
`Serving http://ADDR` on stdout. GET /.well-known/spin/health answers 200 OK.";

struct Args {
    listen: SocketAddr,
    env: Vec<(String, String)>,
    shim_env: bool,
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
    let app = manifest::load(
        &args.manifest,
        &|key| std::env::var(key).ok(),
        args.shim_env,
    )?;
    let server = server::Server::new(app, args.env)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(server.serve(args.listen))
}

/// `Ok(None)` means `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        env: Vec::new(),
        shim_env: false,
        manifest: PathBuf::from("spin.toml"),
    };
    let mut manifest = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--shim-env" => parsed.shim_env = true,
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
        assert!(!args.shim_env && args.env.is_empty());
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
            "app/spin.toml",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.listen.port(), 0);
        assert_eq!(
            args.env,
            [("A".into(), "b=c".into()), ("E".into(), String::new())]
        );
        assert!(args.shim_env);
        assert_eq!(args.manifest, PathBuf::from("app/spin.toml"));
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
            &["a", "b"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
