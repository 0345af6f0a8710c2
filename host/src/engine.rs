//! Compiling the component: the engine configured as Spin configures it, the core module turned into a
//! component as Spin does, and the compiled result kept in a cache so a restart skips both.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

const MB: usize = 1 << 20;

/// The engine with Spin's pooling instance allocator (spin crates/core/src/lib.rs, `Config::default`):
/// instances, memories and stacks are reserved once and reused, and the first pages of each memory and table
/// stay resident between requests, so resetting them is a memset, not an madvise that would make every core
/// flush its TLB. The same environment variables as Spin size it.
pub fn engine() -> Result<Engine> {
    let max_instances = env_or("SPIN_MAX_INSTANCE_COUNT", 1_000)?;
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(env_or("SPIN_WASMTIME_INSTANCE_COUNT", max_instances)?)
        .total_memories(env_or("SPIN_WASMTIME_TOTAL_MEMORIES", max_instances)?)
        .total_tables(env_or("SPIN_WASMTIME_TOTAL_TABLES", 2 * max_instances)?)
        .total_stacks(env_or("SPIN_WASMTIME_TOTAL_STACKS", max_instances)?)
        .total_core_instances(env_or(
            "SPIN_WASMTIME_TOTAL_CORE_INSTANCES",
            4 * max_instances,
        )?)
        .table_elements(env_or("SPIN_WASMTIME_INSTANCE_TABLE_ELEMENTS", 100_000)?)
        .max_component_instance_size(env_or("SPIN_WASMTIME_INSTANCE_SIZE", 10 * MB)?)
        .max_core_instance_size(env_or("SPIN_WASMTIME_CORE_INSTANCE_SIZE", 10 * MB)?)
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(env_or("SPIN_WASMTIME_LINEAR_MEMORY_KEEP_RESIDENT", 2 * MB)?)
        .table_keep_resident(env_or("SPIN_WASMTIME_TABLE_KEEP_RESIDENT", MB / 2)?);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Ok(Engine::new(&config)?)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Where compiled components are kept between runs: `ENVAPP_HOST_CACHE`, else the user's cache folder.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ENVAPP_HOST_CACHE") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("envapp/host-cache"))
}

/// Compiles the Wasm file at `source` (a core module built by spin-sdk, or a component), or loads the
/// result of an earlier compile of the same bytes from `cache`.
///
/// Deserializing compiled code is `unsafe`: wasmtime runs it as machine code. So an entry is trusted only
/// when it sits in a folder this user owns that nobody else can write to, and its SHA-256 (kept inside the
/// entry) matches; anything else is compiled afresh and rewritten. The key covers the .wasm's SHA-256 and
/// the engine's compatibility hash (wasmtime's version and every setting that changes the code).
pub fn compile(engine: &Engine, source: &Path, cache: Option<&Path>) -> Result<Component> {
    let wasm =
        fs::read(source).with_context(|| format!("cannot read component {}", source.display()))?;
    let compile = || -> Result<Vec<u8>> {
        engine
            .precompile_component(&componentize(&wasm)?)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot compile {}", source.display()))
    };
    let Some(dir) = cache.and_then(|dir| trusted_dir(dir).ok()) else {
        return deserialize(engine, &compile()?);
    };
    let entry = dir.join(format!("{}.cwasm", cache_key(engine, &wasm)));
    if let Some(component) = read_entry(&entry).and_then(|code| deserialize(engine, &code).ok()) {
        return Ok(component);
    }
    let code = compile()?;
    let component = deserialize(engine, &code)?;
    // A cache that cannot be written is only slower, never an error.
    if let Err(err) = write_entry(&entry, &code) {
        eprintln!("envapp-host: not caching the compiled component: {err:#}");
    }
    Ok(component)
}

fn deserialize(engine: &Engine, code: &[u8]) -> Result<Component> {
    // SAFETY: `code` is either what `precompile_component` just produced in this process, or a cache entry
    // whose checksum matched in a folder only this user can write (see `compile`).
    Ok(unsafe { Component::deserialize(engine, code) }?)
}

fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut settings = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut settings);
    let wasm = Sha256::digest(wasm);
    format!("{}-{:016x}", hex(&wasm), settings.finish())
}

/// Creates the cache folder (0700) if needed and checks that only this user can write to it.
fn trusted_dir(dir: &Path) -> Result<&Path> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = fs::metadata(dir)?;
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o022 != 0 {
        bail!(
            "{} is not owned by this user or is writable by others",
            dir.display()
        );
    }
    Ok(dir)
}

/// An entry is the SHA-256 of the compiled code followed by the code.
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    let meta = fs::metadata(path).ok()?;
    if meta.uid() != unsafe { libc::geteuid() } || meta.mode() & 0o022 != 0 {
        return None;
    }
    let mut bytes = fs::read(path).ok()?;
    if bytes.len() < 32 || Sha256::digest(&bytes[32..])[..] != bytes[..32] {
        return None;
    }
    Some(bytes.split_off(32))
}

/// Written to a temporary file and renamed, so a reader never sees half an entry.
fn write_entry(path: &Path, code: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = file
        .write_all(&Sha256::digest(code))
        .and_then(|()| file.write_all(code))
        .and_then(|()| file.sync_all());
    if let Err(err) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(err.into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Turns a core module into a component the way Spin loads one built by spin-sdk 5.2: the module
/// carries its WIT in custom sections and WASI preview 1 imports, which the reactor adapter maps
/// to WASI 0.2. A component is used as it is.
fn componentize(wasm: &[u8]) -> Result<Vec<u8>> {
    if wasmparser::Parser::is_component(wasm) {
        return Ok(wasm.to_vec());
    }
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(wasm)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
        .context("cannot turn the core module into a component")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("envapp-host-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_entry_reads_back_only_when_its_checksum_matches() {
        let dir = temp_dir("entry");
        trusted_dir(&dir).unwrap();
        let entry = dir.join("x.cwasm");
        write_entry(&entry, b"compiled code").unwrap();
        assert_eq!(read_entry(&entry).as_deref(), Some(&b"compiled code"[..]));

        let mut bytes = fs::read(&entry).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(&entry, &bytes).unwrap();
        assert_eq!(read_entry(&entry), None, "a corrupt entry is never trusted");
        fs::write(&entry, b"short").unwrap();
        assert_eq!(
            read_entry(&entry),
            None,
            "a truncated entry is never trusted"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_others_can_write_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("perm");
        trusted_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().mode() & 0o777,
            0o700,
            "created private"
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(trusted_dir(&dir).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_changes_with_the_bytes_and_the_engine_settings() {
        let engine = Engine::default();
        let other =
            Engine::new(Config::new().cranelift_opt_level(wasmtime::OptLevel::None)).unwrap();
        assert_ne!(cache_key(&engine, b"a"), cache_key(&engine, b"b"));
        assert_ne!(cache_key(&engine, b"a"), cache_key(&other, b"a"));
        assert_eq!(cache_key(&engine, b"a"), cache_key(&engine, b"a"));
    }
}
