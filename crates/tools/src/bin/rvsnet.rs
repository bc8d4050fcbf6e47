//! rvsnet: the director's own plumbing (addresses, routes, neighbours, links, reply steering),
//! shown and changed over rvsd's control socket. The socket is `RVS_SOCK` or /run/rvs/rvs.sock.
//! See `rvsnet help` and docs/rvsnet.md.

use rvs_proto::client;
use rvs_tools::rvsnet::run;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let status = run::run(
        &argv,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        &client::socket_path(),
    );
    ExitCode::from(u8::try_from(status & 0xff).unwrap_or(1))
}
