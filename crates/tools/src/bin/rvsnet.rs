//! rvsnet: the director's own plumbing (addresses, routes, neighbours, links, reply steering),
//! shown and changed over rvsd's control socket. The socket is `RVS_SOCK` or /run/rvs/rvs.sock.
//! See `rvsnet help` and docs/rvsnet.md.

use rvs_proto::client;
use rvs_tools::rvsnet::run;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    // `rvsnet --generate-docs DIR`: the man page and completions (packaging; not in the help).
    if let Some(dir) = rvs_docgen::requested(&argv) {
        return match rvs_docgen::generate(rvs_tools::rvsnet::cli::command("rvsnet"), &dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rvsnet: writing the man page and completions to {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
    }
    let status = run::run(
        &argv,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        &client::socket_path(),
    );
    ExitCode::from(u8::try_from(status & 0xff).unwrap_or(1))
}
