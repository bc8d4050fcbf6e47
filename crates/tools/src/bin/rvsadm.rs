//! rvsadm: ipvsadm's command line for rvsd, over rvsd's control socket.
//!
//! Behaves as ipvsadm 1.31 does, byte for byte in its listings; invoked as `ipvsadm` (a link)
//! it calls itself that in its messages. The socket is `RVS_SOCK` or /run/rvs/rvs.sock.

use rvs_proto::client;
use rvs_tools::rvsadm::names::{CachedNames, SystemNames};
use rvs_tools::rvsadm::run as rvsadm;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let system = SystemNames::load();
    let names = CachedNames::new(&system);
    let status = rvsadm::run(
        &argv,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        &client::socket_path(),
        &names,
    );
    ExitCode::from(u8::try_from(status & 0xff).unwrap_or(1))
}
