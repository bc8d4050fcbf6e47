//! rvs-keepalived-import: converts a keepalived.conf's virtual servers to rvsd's TOML.
//! See `rvs-keepalived-import --help` and docs/keepalived.md.

use clap::{CommandFactory, Parser};
use rvs_tools::kaimport::{import, Options};
use std::path::PathBuf;
use std::process::ExitCode;

/// Converts the virtual_server, virtual_server_group and real_server blocks of a
/// keepalived.conf (with its includes) into rvsd's [[service]] sections. Constructs rvs
/// cannot take are refused with file:line and the reason, and nothing is written; VRRP
/// blocks stay with keepalived.
#[derive(Parser)]
#[command(name = "rvs-keepalived-import", version)]
struct Args {
    /// The keepalived configuration file.
    file: PathBuf,
    /// Also write an [[addr]] of kind "vip" on this [[port]] for each VIP.
    #[arg(long, value_name = "PORT")]
    vip_port: Option<String>,
    /// Mark those VIPs `standby = true` (a VRRP pair: keepalived's notify scripts take them).
    #[arg(long, requires = "vip_port")]
    vip_standby: bool,
    /// keepalived's config id (its -i), which selects @ID lines; default: the host name.
    #[arg(long, value_name = "ID")]
    config_id: Option<String>,
    /// Write the TOML here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn host_name() -> String {
    let full = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    full.trim().split('.').next().unwrap_or_default().to_owned()
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    // `--generate-docs DIR`: the man page and completions (packaging; not in the help).
    if let Some(dir) = rvs_docgen::requested(&argv) {
        return match rvs_docgen::generate(Args::command(), &dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "rvs-keepalived-import: writing the man page and completions to {}: {e}",
                    dir.display()
                );
                ExitCode::FAILURE
            }
        };
    }
    let args = Args::parse();
    let opts = Options {
        vip_port: args.vip_port,
        config_id: args.config_id.unwrap_or_else(host_name),
        vip_standby: args.vip_standby,
    };
    match import(&args.file, &opts) {
        Ok(done) => {
            for n in &done.notes {
                eprintln!("note: {n}");
            }
            let written = match &args.output {
                Some(p) => {
                    std::fs::write(p, &done.toml).map_err(|e| format!("{}: {e}", p.display()))
                }
                None => {
                    print!("{}", done.toml);
                    Ok(())
                }
            };
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("rvs-keepalived-import: writing {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(refusals) => {
            for r in &refusals {
                eprintln!("{r}");
            }
            eprintln!(
                "rvs-keepalived-import: {} construct(s) refused; nothing written",
                refusals.len()
            );
            ExitCode::from(2)
        }
    }
}
