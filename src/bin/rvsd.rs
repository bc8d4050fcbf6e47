//! rvsd: the rvs director daemon.
//!
//! Reads the TOML config, starts EAL, ports and one worker per configured core, serves metrics
//! and the control socket (`[ctrl] socket`, for rvsadm), reloads the config's services, dests,
//! local addresses, timeouts and SNAT rules on SIGHUP (or `rvsadm --reload`), and stops cleanly
//! on SIGINT/SIGTERM (exit 0). A start failure exits non-zero with one line that says what to
//! do.

use anyhow::Context;
use clap::Parser;
use rvs::config::Config;
use rvs::config::Reloader;
use rvs::ctrl::control::Control;
use rvs::ctrl::metrics_source::ControlMetrics;
use rvs::ctrl::server::{Server, ServerConfig};
use rvs::daemon::Director;
use rvs::health::board::Board;
use rvs::health::runner::{Health, DEFAULT_PROBE_THREADS};
use rvs::ipvs::service::BuildOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The lab configuration shipped with rvs (conf/rvs.toml).
const LAB_CONFIG: &str = include_str!("../../conf/rvs.toml");

#[derive(Parser, Debug)]
#[command(name = "rvsd", version = long_version(), about = "rvs director daemon (DPDK layer-4 load balancer)")]
struct Args {
    /// Config file (TOML). Without it, the embedded lab config (conf/rvs.toml) is used.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate the config and exit, without starting DPDK.
    #[arg(long)]
    check: bool,
    /// Print the embedded lab config and exit.
    #[arg(long)]
    print_lab_config: bool,
}

fn long_version() -> &'static str {
    Box::leak(
        format!(
            "{} (git {}, DPDK {})",
            rvs::build_info::VERSION,
            rvs::build_info::GIT_REV,
            rvs::build_info::DPDK_VERSION
        )
        .into_boxed_str(),
    )
}

fn load(args: &Args) -> anyhow::Result<Config> {
    match &args.config {
        Some(path) => Ok(Config::load(path)?),
        None => Config::from_toml_str(LAB_CONFIG).context("the embedded lab config"),
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.print_lab_config {
        print!("{LAB_CONFIG}");
        return Ok(());
    }
    let cfg = load(&args)?;
    if args.check {
        let checkers: usize =
            cfg.health().services.iter().flat_map(|s| &s.dests).map(|d| d.checkers.len()).sum();
        let health =
            if checkers > 0 { format!(", {checkers} health checker(s)") } else { String::new() };
        println!(
            "config ok: {} port(s), {} worker(s){health}",
            cfg.ports().len(),
            cfg.workers().len()
        );
        return Ok(());
    }
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, term.clone()).context("installing signal handlers")?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())
        .context("installing the SIGHUP handler")?;
    let board = Board::new();
    let director = Director::start_with_metrics(&cfg, vec![Arc::new(board.clone())])?;
    let control = Control::new(
        cfg.services().clone(),
        cfg.snat_rules().to_vec(),
        BuildOptions::default(),
        director.control(),
    )
    .with_health(board.clone());
    let control = Arc::new(Mutex::new(control));
    if let (Some(path), Ok(mut c)) = (&args.config, control.lock()) {
        c.set_reloader(Reloader::from_file(cfg.clone(), path.clone()));
    }
    director.add_metrics_source(Arc::new(ControlMetrics::new(control.clone())));
    let server_cfg =
        ServerConfig { group: cfg.ctrl().group.clone(), ..ServerConfig::new(&cfg.ctrl().socket) };
    let server = match Server::start_shared(server_cfg, control.clone()) {
        Ok(s) => s,
        Err(e) => {
            let _ = director.shutdown();
            return Err(e.into());
        }
    };
    // Health checks (docs/health.md): control-plane threads, changes through `control`.
    let health = if cfg.health().services.is_empty() {
        None
    } else {
        match Health::start(cfg.health().clone(), control.clone(), board, DEFAULT_PROBE_THREADS) {
            Ok(h) => Some(h),
            Err(e) => {
                server.stop();
                let _ = director.shutdown();
                return Err(anyhow::anyhow!("starting the health checks: {e}"));
            }
        }
    };
    tracing::info!("control socket on {} (rvsadm: RVS_SOCK={0})", server.path().display());
    tracing::info!(
        "rvsd {} running; SIGHUP reloads the config, SIGINT or SIGTERM stops it",
        long_version()
    );
    while !term.load(Ordering::Relaxed) {
        if hup.swap(false, Ordering::Relaxed) {
            tracing::info!("SIGHUP: reloading the config");
            // The control plane logs the outcome (applied, or refused with the reason).
            if let Ok(mut c) = control.lock() {
                let _ = c.reload();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::info!("stopping");
    if let Some(h) = health {
        h.stop();
    }
    server.stop();
    director.shutdown()?;
    tracing::info!("stopped");
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RVS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvsd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
