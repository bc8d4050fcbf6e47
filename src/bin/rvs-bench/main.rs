//! rvs-bench: the throughput and memory harness of rvs (issue 6).
//!
//! One command runs every scenario, each in its own child process (one EAL per process, and a
//! clean resident-memory figure per scenario), prints a table and appends it, with the machine,
//! the date and the exact command, to `perf/RESULTS.md`. `--quick` runs each for about a second
//! with small flow counts: a smoke test that the harness works, not a measurement.
//!
//! Traffic: a generator on lcore 0 builds 64-byte frames from templates (varied client
//! addresses and ports, see `frames`) into a ring-backed ethdev; rvsd's worker loop on lcore 1
//! receives them, and transmits to `net_null`. No NIC is needed. See perf/README.md.

mod frames;
mod hot;
mod mem;
mod order;
mod pcapgen;
mod plot;
mod run;
mod setup;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use run::{Params, Traffic};
use setup::Mode;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "rvs-bench", version, about = "Throughput and memory harness of rvs")]
struct Cli {
    /// Seconds-long smoke run with small flow counts (numbers are not meaningful).
    #[arg(long)]
    quick: bool,
    /// Established connections in the table for the established and mix scenarios.
    #[arg(long, default_value_t = 1_000_000)]
    flows: u64,
    /// Measured window of each scenario, in seconds (at least 10 unless --quick).
    #[arg(long, default_value_t = 10.0)]
    window: f64,
    /// The long run: 60 s windows (the longest worker poll and the drops over a minute).
    #[arg(long)]
    long: bool,
    /// Seed of the shuffled insertion and traffic orders (default: from the clock, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Only the scenarios whose names contain one of these (comma separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// File the results are appended to.
    #[arg(long, default_value = "perf/RESULTS.md")]
    results: PathBuf,
    /// Print only; do not append to the results file.
    #[arg(long)]
    no_append: bool,
    /// A note written under the results (for example the load on the machine).
    #[arg(long)]
    note: Option<String>,
    /// Use 2 MB hugepages (reserved beforehand) instead of --no-huge.
    #[arg(long)]
    huge: bool,
    /// Throughput against connection count: instead of the scenarios, the I/O ceiling and
    /// established FULLNAT with each of these numbers of connections (comma separated, e.g.
    /// 1000,10000,100000,1000000,10000000); each row is named est-fullnat-<count>.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<u64>,
    /// Draw the run's results as SVG into this directory: scenarios.svg (Mpps and ratio to the
    /// I/O ceiling per scenario), and with --sweep conns.svg (throughput against connections).
    #[arg(long)]
    plot: Option<PathBuf>,
    #[command(subcommand)]
    child: Option<Child>,
}

/// What the child processes run (internal).
#[derive(Subcommand, Debug)]
enum Child {
    /// Run one traffic scenario in this process.
    #[command(hide = true)]
    Scenario {
        name: String,
        #[arg(long)]
        flows: u64,
        #[arg(long)]
        capacity: u32,
        #[arg(long)]
        warmup_ms: u64,
        #[arg(long)]
        window_ms: u64,
        #[arg(long)]
        huge: bool,
        #[arg(long)]
        seed: u64,
    },
    /// Write the capture perf/blackbox.sh replays into rvsd: SYNs of FLOWS TCP flows to
    /// VIP:PORT in one shuffle, then PASSES shuffles of their ACKs.
    Pcap {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        flows: u64,
        #[arg(long, default_value_t = 1)]
        passes: u32,
        #[arg(long)]
        seed: u64,
        /// Destination MAC of every frame (the director's port).
        #[arg(long, value_parser = parse_mac)]
        dst_mac: [u8; 6],
        #[arg(long)]
        vip: std::net::Ipv4Addr,
        #[arg(long, default_value_t = 80)]
        port: u16,
    },
    /// The established path's fixed per-packet work without DPDK, for profiling: FLOWS
    /// established connections of MODE (dr, tun, nat, fullnat) fed PACKETS ACKs through the
    /// pipeline on this thread; prints CPU ns/packet of the source alone and with the pipeline.
    Hot {
        #[arg(long, default_value = "fullnat")]
        mode: String,
        #[arg(long, default_value_t = 1000)]
        flows: u64,
        #[arg(long, default_value_t = 20_000_000)]
        packets: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fill a table of N connections and report memory.
    #[command(hide = true)]
    Mem {
        #[arg(long)]
        conns: u64,
    },
}

/// A scenario of the run: its name, and how to start it.
struct Plan {
    name: String,
    what: &'static str,
    args: Vec<String>,
}

/// `name` without a flow-count suffix (`est-fullnat-1k`, `est-fullnat-10M`).
fn without_count(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((base, n))
            if n.len() > 1
                && (n.ends_with('k') || n.ends_with('M'))
                && n[..n.len() - 1].bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    }
}

fn traffic_of(name: &str) -> Result<(Traffic, Mode)> {
    // A size suffix (est-fullnat-1k) names the flow count, not the mode.
    let base = without_count(name);
    let mode = if base.ends_with("-dr") {
        Mode::Dr
    } else if base.ends_with("-tun") {
        Mode::Tun
    } else if base.ends_with("-fullnat") {
        Mode::FullNat
    } else {
        Mode::Nat
    };
    let t = if name == "io" {
        Traffic::Io
    } else if name.starts_with("est-") {
        Traffic::Established
    } else if name.starts_with("new-tcp-") {
        Traffic::NewTcp
    } else if name.starts_with("new-udp-") {
        Traffic::NewUdp
    } else if name.starts_with("mix-") {
        Traffic::Mix
    } else if name.starts_with("both-") {
        Traffic::Both
    } else if name.starts_with("steady-tcp-") {
        Traffic::Steady
    } else if name == "idle" {
        Traffic::Idle
    } else {
        bail!("unknown scenario {name}")
    };
    Ok((t, mode))
}

fn plans(cli: &Cli, seed: u64) -> Vec<Plan> {
    let window_s = if cli.long { 60.0 } else { cli.window.max(10.0) };
    let (flows, warmup, window, new_cap) = if cli.quick {
        (10_000u64, 200u64, 800u64, 1u32 << 20)
    } else {
        (cli.flows, 1000, (window_s * 1000.0) as u64, 8u32 << 20)
    };
    let est_cap = u32::try_from(flows + flows / 8 + 1024).unwrap_or(u32::MAX);
    let mix_cap = new_cap.max(est_cap.saturating_mul(2));
    let t = |name: &str, what: &'static str, flows: u64, cap: u32| {
        let mut args = vec![
            "scenario".to_owned(),
            name.to_owned(),
            format!("--flows={flows}"),
            format!("--capacity={cap}"),
            format!("--warmup-ms={warmup}"),
            format!("--window-ms={window}"),
            format!("--seed={seed}"),
        ];
        if cli.huge {
            args.push("--huge".into());
        }
        Plan { name: name.to_owned(), what, args }
    };
    let mut v = vec![t("io", "I/O ceiling: rx -> tx, no work", flows, 1024)];
    if !cli.sweep.is_empty() {
        for &n in &cli.sweep {
            let n = n.max(1);
            let cap = u32::try_from(n + n / 8 + 1024).unwrap_or(u32::MAX);
            v.push(t(&format!("est-fullnat-{}", human(n)), "established TCP, 64 B", n, cap));
        }
        return v;
    }
    for m in ["dr", "tun", "nat", "fullnat"] {
        v.push(t(&format!("est-{m}"), "established TCP, 64 B", flows, est_cap));
    }
    v.push(t("est-fullnat-1k", "established TCP, 64 B, 1000 conns (hot cache)", 1000, 4096));
    v.push(t("both-nat", "established TCP, both directions, 64 B", flows, est_cap));
    v.push(t("both-fullnat", "established TCP, both directions, 64 B", flows, est_cap));
    v.push(t("new-tcp-dr", "every packet a new TCP SYN", 0, new_cap));
    v.push(t("new-tcp-fullnat", "every packet a new TCP SYN (+ local port)", 0, new_cap));
    v.push(t("new-udp-nat", "every packet a new UDP flow", 0, new_cap));
    v.push(t("new-udp-fullnat", "every packet a new UDP flow (+ local port)", 0, new_cap));
    v.push(t(
        "steady-tcp-fullnat",
        "every packet a new TCP SYN, table held at --flows conns (oldest evicted per new one)",
        flows,
        est_cap,
    ));
    v.push(t("mix-fullnat", "90% established, 10% new TCP", flows, mix_cap));
    v.push(t("idle", "no traffic, idle backoff 64 polls, 200 us doubling to 2 ms", 0, 1024));
    let mems: &[u64] = if cli.quick { &[100_000] } else { &[1_000_000, 10_000_000] };
    for &n in mems {
        v.push(Plan {
            name: format!("mem-{}", human(n)),
            what: "FULLNAT conns in one core's table, no DPDK",
            args: vec!["mem".into(), format!("--conns={n}")],
        });
    }
    v.retain(|p| cli.only.is_empty() || cli.only.iter().any(|o| p.name.contains(o.as_str())));
    v
}

fn human(n: u64) -> String {
    if n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn print_result(kv: &[(&str, String)]) {
    let mut line = String::from("RESULT");
    for (k, v) in kv {
        let _ = write!(line, " {k}={v}");
    }
    println!("{line}");
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let v: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{s}: {e} (want six hex bytes separated by ':')"))?;
    v.try_into().map_err(|_| format!("{s}: want six hex bytes separated by ':'"))
}

fn run_child(child: &Child) -> Result<()> {
    match child {
        Child::Hot { mode, flows, packets, seed } => {
            let (_, mode) = traffic_of(&format!("est-{mode}"))?;
            hot::run(mode, (*flows).max(1), *packets, *seed)?;
        }
        Child::Pcap { out, flows, passes, seed, dst_mac, vip, port } => {
            let n = pcapgen::write(out, *flows, *passes, *seed, *dst_mac, *vip, *port)?;
            println!("wrote {n} frames ({flows} flows, seed {seed}) to {}", out.display());
        }
        Child::Scenario { name, flows, capacity, warmup_ms, window_ms, huge, seed } => {
            let (traffic, mode) = traffic_of(name)?;
            let p = Params {
                traffic,
                mode,
                flows: *flows,
                capacity: *capacity,
                warmup: Duration::from_millis(*warmup_ms),
                window: Duration::from_millis(*window_ms),
                huge: *huge,
                seed: *seed,
            };
            run::check(&p)?;
            let m = run::named(run::run(&p), name)?;
            print_result(&[
                ("rx_pps", format!("{:.0}", m.rx_pps)),
                ("tx_pps", format!("{:.0}", m.tx_pps)),
                ("offered_pps", format!("{:.0}", m.offered_pps)),
                ("idle_polls", format!("{:.3}", m.idle_polls)),
                ("ring_full", format!("{:.3}", m.ring_full)),
                ("lb_share", format!("{:.3}", m.lb_share)),
                ("new_cps", format!("{:.0}", m.new_cps)),
                ("drops", m.drops.to_string()),
                ("top_drop", if m.top_drop.is_empty() { "-".into() } else { m.top_drop }),
                ("conns", m.conns.to_string()),
                ("rss", m.rss.to_string()),
                ("cpu", format!("{:.4}", m.cpu)),
                ("sent", m.sent.to_string()),
                ("rx_total", m.rx_total.to_string()),
                ("tx_total", m.tx_total.to_string()),
                ("fwd_total", m.fwd_total.to_string()),
                ("drops_total", m.drops_total.to_string()),
                ("created_total", m.created_total.to_string()),
                ("conns_before", m.conns_before.to_string()),
                ("capacity", capacity.to_string()),
                ("cpu_ns_pkt", format!("{:.1}", m.cpu_ns_pkt)),
                ("worker_cpu", format!("{:.3}", m.worker_cpu)),
                ("longest_poll_ns", m.longest_poll_ns.to_string()),
                ("adjacent", m.adjacent.to_string()),
                ("touched", m.touched.to_string()),
                ("per_busy_poll", format!("{:.1}", m.per_busy_poll)),
                ("seed", seed.to_string()),
            ]);
        }
        Child::Mem { conns } => {
            let r = mem::measure(*conns)?;
            print_result(&[
                ("conns", r.conns.to_string()),
                ("table_bytes", r.table_bytes.to_string()),
                ("capacity", r.capacity.to_string()),
                ("rss_before", r.rss_before.to_string()),
                ("rss", r.rss_after.to_string()),
                ("fill_secs", format!("{:.1}", r.fill_secs)),
                ("forwarded", r.forwarded.to_string()),
            ]);
        }
    }
    Ok(())
}

fn parse_result(out: &str) -> Option<BTreeMap<String, String>> {
    let line = out.lines().rev().find(|l| l.starts_with("RESULT "))?;
    Some(
        line.split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// `a` as a POSIX shell word: unchanged when it needs no quoting, else single-quoted.
fn shell_word(a: &str) -> String {
    let plain =
        !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
    if plain {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

fn mem_available() -> u64 {
    let s = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let model = sh("lscpu | sed -n 's/^Model name: *//p' | head -1");
    let caches =
        sh("lscpu | sed -n 's/^ *\\(L[123][a-z]*\\) cache: *\\(.*\\)/\\1 \\2/p' | paste -sd, -");
    let cpus = sh("nproc");
    let kernel = sh("uname -r");
    let dpdk = sh("pkg-config --modversion libdpdk");
    let mem = sh("free -g | awk '/^Mem:/{print $2}'");
    let load = sh("cut -d' ' -f1-3 /proc/loadavg");
    format!(
        "{model} (caches: {caches}), {cpus} CPUs, {mem} GiB, Linux {kernel}, DPDK {dpdk}, rvs {} ({}), load {load}",
        rvs::build_info::VERSION,
        rvs::build_info::GIT_REV
    )
}

struct Row {
    name: String,
    what: &'static str,
    kv: Option<BTreeMap<String, String>>,
    err: String,
}

fn num(kv: &BTreeMap<String, String>, k: &str) -> f64 {
    kv.get(k).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

fn table(rows: &[Row]) -> String {
    let io = rows
        .iter()
        .find(|r| r.name == "io")
        .and_then(|r| r.kv.as_ref())
        .map_or(f64::NAN, |kv| num(kv, "rx_pps"));
    let mut s = String::new();
    s.push_str("| scenario | what | Mpps/core | ns/pkt | worker CPU ns/pkt | vs I/O ceiling | longest poll µs | new conn/s/core | drops | conns | B/conn | RSS MiB | notes |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let Some(kv) = &r.kv else {
            let _ =
                writeln!(s, "| {} | {} | | | | | | | | | | | FAILED: {} |", r.name, r.what, r.err);
            continue;
        };
        let rss = num(kv, "rss") / (1024.0 * 1024.0);
        if r.name.starts_with("mem-") {
            let conns = num(kv, "conns");
            let per = num(kv, "table_bytes") / num(kv, "capacity");
            let rss_per = (num(kv, "rss") - num(kv, "rss_before")) / conns;
            let _ = writeln!(
                s,
                "| {} | {} | | | | | | | | {:.0} | {:.1} | {:.0} | RSS growth {:.1} B/conn; filled in {} s |",
                r.name, r.what, conns, per, rss, rss_per, kv.get("fill_secs").map_or("?", String::as_str)
            );
            continue;
        }
        let pps = num(kv, "rx_pps");
        let full = num(kv, "ring_full");
        let mut notes = Vec::new();
        if r.name == "idle" {
            notes.push(format!("process CPU {:.1}% of a core", 100.0 * num(kv, "cpu")));
        } else {
            // Worker-bound only when the ring refused bursts and the worker almost never found
            // it empty: on a loaded machine a starved generator fills the ring in spurts (every
            // burst refused) while the worker drains it, full bursts each time, and then spins
            // on an empty ring; its CPU ns/pkt counts that spinning too. An empty poll is short
            // (the share of empty polls is not the share of time), and its cost is not known
            // here, so the bar is strict: under 5% of polls empty.
            let idle = num(kv, "idle_polls");
            let per_busy = num(kv, "per_busy_poll");
            if full.is_finite() {
                let worker_bound = full >= 0.05 && (idle.is_nan() || idle < 0.05);
                let bound = if worker_bound { "worker-bound" } else { "source-starved at times" };
                notes.push(format!("{bound} (ring full on {:.0}% of bursts)", full * 100.0));
            }
            if idle.is_finite() {
                notes.push(format!(
                    "{:.1}% of polls empty, {per_busy:.1} packets per busy poll",
                    idle * 100.0
                ));
            }
            let share = num(kv, "lb_share");
            if share.is_finite() && r.name != "io" {
                notes.push(format!("{:.0}% forwarded by the balancer", share * 100.0));
            }
            let adj = num(kv, "adjacent");
            if r.name != "io" && adj.is_finite() && adj > 0.0 {
                notes.push(format!("{adj:.0} slab-adjacent packet pairs per pass"));
            }
            let wc = num(kv, "worker_cpu");
            if wc.is_finite() {
                notes.push(format!("worker thread on CPU {:.0}% of the window", wc * 100.0));
            }
            let top = kv.get("top_drop").map_or("-", String::as_str);
            if top != "-" {
                notes.push(format!("top drop (whole run) {top}"));
            }
        }
        let (mpps, ns, ratio) = if r.name == "idle" {
            ("".into(), "".into(), "".into())
        } else {
            (
                format!("{:.2}", pps / 1e6),
                format!("{:.0}", 1e9 / pps),
                if io.is_finite() { format!("{:.3}", pps / io) } else { "-".into() },
            )
        };
        let cpu_ns = num(kv, "cpu_ns_pkt");
        let cpu_ns = if cpu_ns.is_finite() { format!("{cpu_ns:.0}") } else { String::new() };
        let lp = num(kv, "longest_poll_ns");
        let lp =
            if lp.is_finite() && lp > 0.0 { format!("{:.0}", lp / 1e3) } else { String::new() };
        let _ = writeln!(
            s,
            "| {} | {} | {mpps} | {ns} | {cpu_ns} | {ratio} | {lp} | {:.0} | {} | {} | | {:.0} | {} |",
            r.name,
            r.what,
            num(kv, "new_cps"),
            kv.get("drops").map_or("?", String::as_str),
            kv.get("conns").map_or("?", String::as_str),
            rss,
            notes.join("; ")
        );
    }
    s
}

fn targets(rows: &[Row]) -> String {
    let get = |name: &str, k: &str| {
        rows.iter().find(|r| r.name == name).and_then(|r| r.kv.as_ref()).map(|kv| num(kv, k))
    };
    let mut s = String::new();
    let mut line =
        |what: &str, got: Option<f64>, want: f64, unit: &str, higher: bool, scale: f64| {
            let Some(g) = got.filter(|g| g.is_finite()) else {
                let _ = writeln!(s, "- {what}: not measured in this run");
                return;
            };
            let g = g / scale;
            let ok = if higher { g >= want } else { g <= want };
            let verdict = if ok {
                "met".to_owned()
            } else if higher {
                format!("missed: {:.0}% of the target", 100.0 * g / want)
            } else {
                format!("missed: {:.2}x the target", g / want)
            };
            let _ = writeln!(s, "- {what}: {g:.2} {unit} (target {want} {unit}) — {verdict}");
        };
    line("established FULLNAT, 1 core", get("est-fullnat", "rx_pps"), 10.0, "Mpps", true, 1e6);
    let io = get("io", "rx_pps");
    line(
        "established FULLNAT at 1M conns vs the I/O ceiling of the same run (issue 13)",
        get("est-fullnat", "rx_pps").zip(io).map(|(a, b)| a / b),
        0.5,
        "x",
        true,
        1.0,
    );
    line(
        "hot-cache FULLNAT (1k conns): ns/pkt above the I/O row (issue 13)",
        get("est-fullnat-1k", "rx_pps").zip(io).map(|(a, b)| 1e9 / a - 1e9 / b),
        60.0,
        "ns",
        false,
        1.0,
    );
    let longest = rows
        .iter()
        .filter(|r| r.name != "io" && r.name != "idle")
        .filter_map(|r| r.kv.as_ref().map(|kv| num(kv, "longest_poll_ns")))
        .filter(|v| v.is_finite())
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    line("longest worker poll of the run (issue 13)", longest, 1.0, "ms", false, 1e6);
    line(
        "new TCP conns/s/core (FULLNAT)",
        get("new-tcp-fullnat", "new_cps"),
        1.0,
        "M/s",
        true,
        1e6,
    );
    line(
        "new FULLNAT conns/s/core, table at steady state (issue 13)",
        get("steady-tcp-fullnat", "new_cps"),
        2.0,
        "M/s",
        true,
        1e6,
    );
    let per = rows.iter().find(|r| r.name.starts_with("mem-")).and_then(|r| r.kv.as_ref());
    line(
        "bytes per connection entry",
        per.map(|kv| num(kv, "table_bytes") / num(kv, "capacity")),
        128.0,
        "B",
        false,
        1.0,
    );
    line("RSS with 10M conns", get("mem-10M", "rss"), 2.0, "GiB", false, 1024.0 * 1024.0 * 1024.0);
    line("idle CPU", get("idle", "cpu"), 5.0, "% of a core", false, 0.01);
    s
}

/// Draws the rows of a run into `dir` (see `plot`): scenarios.svg, and conns.svg for a sweep.
fn draw(rows: &[Row], dir: &std::path::Path, started: &str, sweep: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let io = rows
        .iter()
        .find(|r| r.name == "io")
        .and_then(|r| r.kv.as_ref())
        .map_or(f64::NAN, |kv| num(kv, "rx_pps"));
    let traffic = |r: &Row| !r.name.starts_with("mem-") && r.name != "idle";
    let points: Vec<plot::ScenarioPoint> = rows
        .iter()
        .filter(|r| traffic(r))
        .map(|r| {
            let pps = r.kv.as_ref().map_or(f64::NAN, |kv| num(kv, "rx_pps"));
            plot::ScenarioPoint { name: r.name.clone(), mpps: pps / 1e6, ratio: pps / io }
        })
        .collect();
    let path = dir.join("scenarios.svg");
    plot::scenarios_svg(&points, &format!("rvs-bench {started}: one worker core"), &path)?;
    eprintln!("drew {}", path.display());
    if sweep {
        let sweep: Vec<plot::SweepPoint> = rows
            .iter()
            .filter(|r| r.name.starts_with("est-fullnat-"))
            .filter_map(|r| {
                let kv = r.kv.as_ref()?;
                Some(plot::SweepPoint {
                    conns: num(kv, "conns_before") as u64,
                    mpps: num(kv, "rx_pps") / 1e6,
                    io_mpps: io / 1e6,
                })
            })
            .collect();
        let path = dir.join("conns.svg");
        plot::sweep_svg(
            &sweep,
            &format!("rvs-bench {started}: FULLNAT against connections"),
            &path,
        )?;
        eprintln!("drew {}", path.display());
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(child) = &cli.child {
        return run_child(child);
    }
    let exe = std::env::current_exe().context("finding this program")?;
    let command = std::env::args().map(|a| shell_word(&a)).collect::<Vec<_>>().join(" ");
    let started = sh("date -u '+%Y-%m-%d %H:%M UTC'");
    let seed = cli.seed.unwrap_or_else(order::clock_seed);
    eprintln!(
        "seed {seed} (flows inserted and sent in two shuffles of it; --seed {seed} repeats them)"
    );
    let mut rows = Vec::new();
    for plan in plans(&cli, seed) {
        if plan.name == "mem-10M" && mem_available() < 6 << 30 {
            rows.push(Row {
                name: plan.name,
                what: plan.what,
                kv: None,
                err: format!("skipped: {} MiB available, 6 GiB wanted", mem_available() >> 20),
            });
            continue;
        }
        eprintln!("== {}: {}", plan.name, plan.what);
        let out = Command::new(&exe)
            .args(&plan.args)
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("starting scenario {}", plan.name))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let kv = if out.status.success() { parse_result(&stdout) } else { None };
        let err = if kv.is_none() { format!("exit {}", out.status) } else { String::new() };
        if let Some(kv) = &kv {
            println!(
                "scenario {} {}",
                plan.name,
                kv.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
            );
        } else {
            println!("scenario {} FAILED ({err})", plan.name);
        }
        rows.push(Row { name: plan.name, what: plan.what, kv, err });
    }
    if let Some(dir) = &cli.plot {
        draw(&rows, dir, &started, !cli.sweep.is_empty())?;
    }
    let failed = rows.iter().filter(|r| r.kv.is_none() && !r.err.starts_with("skipped")).count();
    let t = table(&rows);
    let tg = targets(&rows);
    println!("\n{t}\n{tg}");
    if !cli.no_append {
        let mut entry = String::new();
        let _ = writeln!(
            entry,
            "\n## {started}{}\n",
            if cli.quick { " (quick: smoke run, numbers not meaningful)" } else { "" }
        );
        let _ = writeln!(entry, "- machine: {}", machine());
        let _ = writeln!(entry, "- command: `{command}`");
        let _ = writeln!(entry, "- seed of the insertion and traffic orders: {seed}");
        if let Some(n) = &cli.note {
            let _ = writeln!(entry, "- note: {n}");
        }
        let _ = writeln!(entry, "\n{t}\n{tg}");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cli.results)
            .with_context(|| format!("opening {}", cli.results.display()))?;
        f.write_all(entry.as_bytes()).map_err(|e| anyhow!("{}: {e}", cli.results.display()))?;
        eprintln!("appended to {}", cli.results.display());
    }
    if failed > 0 {
        bail!("{failed} scenario(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_round_trip_through_sh() {
        for a in ["--quick", "a b", "it's", "", "x=1,2"] {
            let out = sh(&format!("printf %s {}", shell_word(a)));
            assert_eq!(out, a.trim(), "{a:?}");
        }
        assert_eq!(shell_word("--only=est-,io"), "--only=est-,io");
    }

    #[test]
    fn a_count_suffix_is_not_the_mode() {
        assert_eq!(without_count("est-fullnat-1k"), "est-fullnat");
        assert_eq!(without_count("est-fullnat-10M"), "est-fullnat");
        assert_eq!(without_count("est-fullnat"), "est-fullnat");
        assert_eq!(without_count("new-tcp-dr"), "new-tcp-dr");
        assert!(matches!(
            traffic_of("est-fullnat-100k"),
            Ok((Traffic::Established, Mode::FullNat))
        ));
    }

    #[test]
    fn result_lines_parse() {
        let kv = parse_result("noise\nRESULT rx_pps=12 top_drop=-\n").expect("a result");
        assert_eq!(kv.get("rx_pps").map(String::as_str), Some("12"));
        assert!(parse_result("no result here").is_none());
    }
}
