//! The rvsnet program as a library function: argv in, output and an exit status out.
//!
//! Owns which request a command line sends (`Request::Net`), printing the reply with
//! [`super::format`], and exit statuses: 0 done, 2 command-line error (with the usage hint),
//! 255 refused by rvsd (its message on stderr; nothing changed), 1 rvsd unreachable or a
//! protocol error.

use super::cli::{self, NetCommand};
use super::format;
use rvs_proto::client::Client;
use rvs_proto::{ErrorCode, Reply, Request, Response};
use std::io::Write;
use std::path::Path;

/// Exit status of a command-line error.
pub const EXIT_USAGE: i32 = 2;
/// Exit status of a refusal by rvsd.
pub const EXIT_REFUSED: i32 = 255;
/// Exit status when rvsd cannot be reached or answers out of protocol.
pub const EXIT_UNREACHABLE: i32 = 1;

/// Runs rvsnet with `argv` (program name first) against the daemon at `socket`.
pub fn run(argv: &[String], out: &mut dyn Write, err: &mut dyn Write, socket: &Path) -> i32 {
    let program = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_else(|| "rvsnet".into());
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let req = match cli::parse(&program, &args) {
        Ok(NetCommand::Help(text)) => {
            let _ = write!(out, "{text}");
            return 0;
        }
        Ok(NetCommand::Request(r)) => r,
        Err(e) => {
            let _ = writeln!(err, "{program}: {e}");
            return EXIT_USAGE;
        }
    };
    let resp = Client::connect(socket).and_then(|mut c| c.request(&Request::Net(req)));
    let reply = match resp {
        Ok(Response::Ok(Reply::Net(r))) => r,
        Ok(Response::Ok(other)) => {
            let _ = writeln!(err, "{program}: rvsd answered with unexpected data: {other:?}");
            return EXIT_UNREACHABLE;
        }
        Ok(Response::Error { code, message }) => {
            let _ = writeln!(err, "{program}: {message}");
            return match code {
                ErrorCode::Refused | ErrorCode::NotFound => EXIT_REFUSED,
                _ => EXIT_UNREACHABLE,
            };
        }
        Err(e) => {
            let _ = writeln!(err, "{program}: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    let text = format::reply(&reply);
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        return EXIT_UNREACHABLE;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(line: &str, socket: &Path) -> (i32, String, String) {
        let argv: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&argv, &mut out, &mut err, socket);
        (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    #[test]
    fn exit_statuses_without_a_daemon() {
        let nowhere = Path::new("/nonexistent/rvs/rvs.sock");
        let (code, out, err) = go("rvsnet help", nowhere);
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(out.contains("\nUsage: rvsnet OBJECT [COMMAND] [ARGS]\n"), "{out}");
        let (code, out, err) = go("/usr/sbin/rvsnet addr add 10.0.0.1", nowhere);
        assert_eq!((code, out.as_str()), (EXIT_USAGE, ""));
        assert!(
            err.starts_with(
                "rvsnet: the following required arguments were not provided:\n  dev PORT\n"
            ),
            "{err}"
        );
        assert!(err.ends_with("For more information, try '--help'.\n"), "{err}");
        let (code, out, err) = go("rvsnet route show", nowhere);
        assert_eq!((code, out.as_str()), (EXIT_UNREACHABLE, ""));
        assert!(err.starts_with("rvsnet: cannot reach rvsd at /nonexistent/rvs/rvs.sock"), "{err}");
    }
}
