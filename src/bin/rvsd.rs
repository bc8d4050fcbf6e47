//! rvsd: the rvs director daemon.
//!
//! Reads the TOML config and starts what it describes in rvsd's one start list
//! (`daemon::rvsd::Rvsd::start`: EAL, pools, ports, kernel interfaces, workers, control plane,
//! control socket, health checks, metrics), serves metrics and the control socket (`[ctrl] socket`, for rvsadm), reloads the config's services, dests,
//! local addresses, timeouts and SNAT rules on SIGHUP (or `rvsadm --reload`), and stops cleanly
//! on SIGINT/SIGTERM (exit 0). A start failure exits non-zero with one line that says what to
//! do.

use anyhow::Context;
use clap::Parser;
use rvs::config::Config;
use rvs::daemon::liveness::{self, WorkerFault};
use rvs::daemon::rvsd::Rvsd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    /// Write rvsd.8 and shell completions into DIR and exit (packaging).
    #[arg(long, value_name = "DIR", hide = true)]
    generate_docs: Option<PathBuf>,
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
    if let Some(dir) = &args.generate_docs {
        use clap::CommandFactory;
        rvs_docgen::generate(Args::command(), dir).with_context(|| {
            format!("writing the man page and completions to {}", dir.display())
        })?;
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
    let mut rvsd = Rvsd::start(&cfg, args.config.as_deref())?;
    tracing::info!("control socket on {} (rvsadm: RVS_SOCK={0})", rvsd.socket().display());
    tracing::info!(
        "rvsd {} running; SIGHUP reloads the config, SIGINT or SIGTERM stops it",
        long_version()
    );
    // systemd's Type=notify (packaging/rvsd.service): ready once ports, workers, the control
    // socket and the health checks run. Without NOTIFY_SOCKET this does nothing.
    notify(&[sd_notify::NotifyState::Ready]);
    // WatchdogSec= in the unit: pinged only while every worker is alive.
    let mut watchdog_usec = 0;
    let watchdog = sd_notify::watchdog_enabled(false, &mut watchdog_usec);
    if watchdog {
        tracing::info!(
            "systemd watchdog every {} ms while every worker is alive",
            watchdog_usec / 1000
        );
    }
    while !term.load(Ordering::Relaxed) {
        if hup.swap(false, Ordering::Relaxed) {
            tracing::info!("SIGHUP: reloading the config");
            notify(&[sd_notify::NotifyState::Reloading]);
            // The control plane logs the outcome (applied, or refused with the reason).
            rvsd.reload();
            notify(&[sd_notify::NotifyState::Ready]);
        }
        let faults = rvsd.check_workers();
        if !faults.is_empty() {
            return exit_on_worker_fault(rvsd, &faults);
        }
        if watchdog {
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
        std::thread::sleep(liveness::CHECK_EVERY);
    }
    tracing::info!("stopping");
    notify(&[sd_notify::NotifyState::Stopping]);
    rvsd.stop()?;
    tracing::info!("stopped");
    Ok(())
}

/// How long an orderly stop after a worker fault may take before rvsd exits anyway.
const FAULT_STOP_LIMIT: Duration = Duration::from_secs(3);

/// A worker is dead or stuck: logs why, stops what can be stopped and ends rvsd with a failure,
/// so that its supervisor (systemd's Restart=on-failure) starts a fresh one. A stuck worker
/// cannot be joined, so then rvsd exits at once.
fn exit_on_worker_fault(rvsd: Rvsd, faults: &[WorkerFault]) -> anyhow::Result<()> {
    for f in faults {
        tracing::error!("{f}; rvsd exits so that its supervisor restarts it");
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    let summary = faults.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if faults.iter().any(|f| !f.ended()) {
        eprintln!("rvsd: error: {summary}");
        std::process::exit(1);
    }
    let _ = std::thread::Builder::new().name("rvs-fault-exit".into()).spawn(|| {
        std::thread::sleep(FAULT_STOP_LIMIT);
        eprintln!("rvsd: error: the stop after a worker fault did not finish; exiting");
        std::process::exit(1);
    });
    if let Err(e) = rvsd.stop() {
        tracing::warn!("stopping after the worker fault: {e}");
    }
    anyhow::bail!("{summary}")
}

/// Tells systemd about rvsd's state when it runs under a `Type=notify` unit; a failure to tell
/// is logged, never fatal (the unit's start timeout then reports it).
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::warn!("telling systemd the service state: {e}");
    }
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
