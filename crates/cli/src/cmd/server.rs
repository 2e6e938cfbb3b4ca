//! `ward server` (run, init) and `ward audit verify`: configuration resolved here, the server
//! itself is ward-server.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ward_server::ServerConfig;

use super::{db, EXIT_FOUND};
use crate::cli::{AuditArgs, AuditCommand, ServerArgs, ServerCommand, ServerCommon};

/// The configuration: `--config` (or `ward.toml` here when it has a [server] table), then the
/// flags.
fn config(common: &ServerCommon) -> anyhow::Result<(ServerConfig, PathBuf)> {
    let mut config = match &common.config {
        Some(path) => ServerConfig::from_file(path)?,
        None if std::path::Path::new("ward.toml").is_file() => {
            ServerConfig::from_file(std::path::Path::new("ward.toml"))?
        }
        None => ServerConfig::default(),
    };
    if let Some(url) = &common.database {
        config.database = Some(url.clone());
    }
    let data_dir = db::resolve_data_dir(common.data_dir.clone().or(config.data_dir.clone()))?;
    Ok((config, data_dir))
}

pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let (mut config, data_dir) = config(&args.common)?;
    if let Some(ServerCommand::Init { admin, password_stdin }) = &args.command {
        return init(&config, &data_dir, admin, *password_stdin);
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if args.tls_cert.is_some() || args.tls_key.is_some() {
        config.tls_cert = args.tls_cert.clone();
        config.tls_key = args.tls_key.clone();
    }
    if let Some(poll) = args.poll_seconds {
        config.poll_seconds = poll;
    }
    let store = ward_server::open_store(&config, &data_dir)?;
    let runtime = tokio_runtime()?;
    runtime.block_on(async {
        let running = ward_server::start(&config, &data_dir, store).await?;
        let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
        // Whoever started the server may have stopped reading its output: the server runs on.
        let mut out = io::stdout().lock();
        let _ = writeln!(
            out,
            "ward server: listening on {scheme}://{}/api/v1 (data directory {})",
            running.address,
            data_dir.display()
        )
        .and_then(|()| out.flush());
        drop(out);
        shutdown_signal().await;
        running.stop().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The runtime the server runs on: one worker per core, store calls on the blocking pool.
pub fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn init(
    config: &ServerConfig,
    data_dir: &std::path::Path,
    admin: &str,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let password = if password_stdin {
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        let trimmed = line.trim_end_matches(['\n', '\r']).to_owned();
        Some(ward_auth::SecretString::from(trimmed))
    } else {
        None
    };
    let store = ward_server::open_store(config, data_dir)?;
    let made = ward_server::init(store.as_ref(), admin, password)?;
    let mut out = io::stdout().lock();
    match (&made.token, made.expires) {
        (Some(token), Some(expires)) => {
            writeln!(out, "admin user {:?} created.", made.user)?;
            writeln!(out, "one-time admin token (shown once, expires {expires}):")?;
            writeln!(out, "{token}")?;
            writeln!(
                out,
                "use it as `Authorization: Bearer <token>` to create users (POST /api/v1/users) \
                 and tokens (POST /api/v1/tokens)"
            )?;
        }
        _ => writeln!(
            out,
            "admin user {:?} created with the given password; log in with POST /api/v1/session",
            made.user
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let (config, data_dir) = config(&args.common)?;
    let AuditCommand::Verify { json } = args.command;
    let url = config.database_url(&data_dir);
    let store = ward_store::open(&url)?;
    let result = ward_server::verify_audit(store.as_ref())
        .map_err(|e| anyhow::anyhow!("reading the audit log: {}", e.message))?;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
    } else if result.ok {
        writeln!(
            out,
            "audit log intact: {} entries, hash chain and anchor verified",
            result.entries
        )?;
    } else {
        writeln!(
            out,
            "audit log TAMPERED: {} ({} entries read)",
            result.problem.as_deref().unwrap_or("unknown problem"),
            result.entries
        )?;
    }
    Ok(if result.ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FOUND) })
}
