//! The rvsadm program as a library function: argv in, output and an exit status out.
//!
//! Owns what rvsadm does with a parsed command: which request it sends, how it prints the data
//! that comes back (with `rvsadm::format`, `rvsadm::conns`, `rvsadm::save`, so the bytes are ipvsadm's),
//! the words and exit status of every failure (command-line errors as `rvsadm::error` says;
//! refusals by the daemon print the daemon's ipvsadm words and exit 255, as ipvsadm's -1 does),
//! and `-R` reading standard input. `--reload` (an rvs extension) asks rvsd to reload its config. Answered locally: `-h`, `-v`; `-L --daemon`,
//! `--start-daemon` and `--stop-daemon` go to rvsd's sync daemons (docs/scale-out.md). Must not touch:
//! the table's rules (the daemon applies them).

use crate::rvsadm::cli::{self, Command, ListWhat};
use crate::rvsadm::daemon;
use crate::rvsadm::names::Names;
use crate::rvsadm::{conns, format, restore, save};
use rvs_proto::chunks::ChunksEnd;
use rvs_proto::client::Client;
use rvs_proto::sync::SyncRequest;
use rvs_proto::{ErrorCode, ListRequest, Reply, Request, Response};
use std::io::{Read, Write};
use std::path::Path;

/// Exit status of a refusal by the daemon (ipvsadm returns -1 from `main`).
pub const EXIT_REFUSED: i32 = 255;
/// Exit status when rvsd cannot be reached or answers with a protocol error.
pub const EXIT_UNREACHABLE: i32 = 1;

/// The program name to show: `ipvsadm` when invoked under that name, else `rvsadm`.
pub fn program_name(argv0: Option<&str>) -> &'static str {
    let base = argv0.map(|a| a.rsplit('/').next().unwrap_or(a));
    if base == Some("ipvsadm") {
        "ipvsadm"
    } else {
        "rvsadm"
    }
}

/// One listing request; a refusal or protocol error comes back as its message.
/// A second listing request for the command's output; `pick` takes the reply it expects.
/// The error is the line to print on stderr.
fn fetch<T>(
    socket: &Path,
    program: &str,
    l: ListRequest,
    pick: impl FnOnce(Reply) -> Result<T, Box<Reply>>,
) -> Result<T, String> {
    match Client::connect(socket).and_then(|mut c| c.request(&Request::List(l))) {
        Ok(Response::Ok(r)) => pick(r)
            .map_err(|other| format!("{program}: rvsd answered with unexpected data: {other:?}")),
        Ok(Response::Error { message, .. }) => Err(message),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

/// `-L -c`: the listing comes in chunks and is printed as they arrive ([`conns::ConnWriter`]):
/// rvsd tells the header in the first chunk, so rvsadm holds at most the chunk it is printing.
fn list_conns(
    socket: &Path,
    program: &str,
    fmt: &cli::ListFormat,
    names: &dyn Names,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut w = conns::ConnWriter::new(fmt, names);
    let mut written = true;
    let mut print = |text: String, out: &mut dyn Write| {
        written = written && out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_ok();
    };
    let end = Client::connect(socket).and_then(|mut c| {
        c.list_conns_with_column(usize::MAX, |column, chunk| {
            print(w.push_chunk(column, chunk), &mut *out)
        })
    });
    match end {
        Ok(ChunksEnd::Complete { .. }) => {
            print(w.finish(), out);
            if written {
                0
            } else {
                EXIT_UNREACHABLE
            }
        }
        Ok(ChunksEnd::Error { message, .. }) => {
            let _ = writeln!(err, "{message}");
            EXIT_UNREACHABLE
        }
        Err(e) => {
            let _ = writeln!(err, "{program}: {e}");
            EXIT_UNREACHABLE
        }
    }
}

/// Runs rvsadm with `argv` against the daemon at `socket`; returns the exit status.
pub fn run(
    argv: &[String],
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
    socket: &Path,
    names: &dyn Names,
) -> i32 {
    let program = program_name(argv.first().map(String::as_str));
    let mut args: Vec<&str> = argv.iter().map(String::as_str).collect();
    match args.first_mut() {
        Some(a) => *a = program,
        None => args.push(program),
    }
    let cmd = match cli::parse(&args, names) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return e.exit_code();
        }
    };
    let req = match &cmd {
        Command::Help => {
            let _ = write!(out, "{}", cli::usage(program));
            return 0;
        }
        Command::Version => {
            let _ = write!(out, "{}", cli::version(program));
            return 0;
        }
        Command::List { what: ListWhat::Daemon, .. } => Request::Sync(SyncRequest::Show),
        Command::SyncDaemon(d) => Request::Sync(d.request()),
        Command::List { what: ListWhat::Conns, format } => {
            return list_conns(socket, program, format, names, out, err);
        }
        Command::Restore => {
            let mut text = String::new();
            if let Err(e) = stdin.read_to_string(&mut text) {
                let _ = writeln!(err, "{program}: reading standard input: {e}");
                return 2;
            }
            match restore::parse_restore(program, &text, names) {
                Ok(changes) => Request::Restore(changes),
                Err(e) => {
                    let _ = writeln!(err, "{e}");
                    return e.source.exit_code();
                }
            }
        }
        Command::List { what, .. } => Request::List(match *what {
            // `--daemon` is a sync request, sent above; never reached.
            ListWhat::All | ListWhat::Daemon => ListRequest::Services,
            ListWhat::Service(k) => ListRequest::Service(k),
            // Streamed chunk by chunk above; never reached.
            ListWhat::Conns => ListRequest::Conns { limit: usize::MAX },
            ListWhat::Timeouts => ListRequest::Timeouts,
        }),
        Command::Save { .. } => Request::Save,
        Command::Reload => Request::Reload,
        Command::FlushRemoved => Request::FlushRemoved,
        Command::Announce(r) => Request::Announce(*r),
        Command::ListLocalAddrs { service } => Request::List(ListRequest::LocalAddrs(*service)),
        Command::Change(c) => Request::Apply(c.clone()),
    };
    let resp = Client::connect(socket).and_then(|mut c| c.request(&req));
    let reply = match resp {
        Ok(Response::Ok(r)) => r,
        Ok(Response::Error { code, message }) => {
            let _ = writeln!(err, "{message}");
            return match code {
                ErrorCode::Refused | ErrorCode::NotFound | ErrorCode::BadConfig => EXIT_REFUSED,
                _ => EXIT_UNREACHABLE,
            };
        }
        Err(e) => {
            let _ = writeln!(err, "{program}: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    // `--health`: the health rows too, from a second request.
    let health = match &cmd {
        Command::List { format: f, what: ListWhat::All | ListWhat::Service(_) } if f.health => {
            let rows = fetch(socket, program, ListRequest::Health, |r| match r {
                Reply::Health(rows) => Ok(rows),
                other => Err(Box::new(other)),
            });
            match rows {
                Ok(rows) => Some(rows),
                Err(line) => {
                    let _ = writeln!(err, "{line}");
                    return EXIT_UNREACHABLE;
                }
            }
        }
        _ => None,
    };
    let text = match (&cmd, reply, health) {
        (Command::List { format: f, .. }, Reply::Services { size, services }, Some(rows)) => {
            crate::rvsadm::health::list_all(size, &services, &rows, f, names)
        }
        (Command::List { format: f, .. }, Reply::Service(s), Some(rows)) => {
            crate::rvsadm::health::list_service(&s, &rows, f, names)
        }
        (c, r, _) => match (c, r) {
            (Command::List { format: f, .. }, Reply::Services { size, services }) => {
                let mut text = format::list_all(size, &services, f, names);
                // Match services (SNAT) follow the virtual services.
                match fetch(socket, program, ListRequest::Matches, |r| match r {
                    Reply::Matches(m) => Ok(m),
                    other => Err(Box::new(other)),
                }) {
                    Ok(m) => text.push_str(&format::list_matches(&m, f, names)),
                    Err(line) => {
                        let _ = writeln!(err, "{line}");
                        return EXIT_UNREACHABLE;
                    }
                }
                text
            }
            (Command::List { format: f, .. }, Reply::Service(s)) => {
                format::list_service(&s, f, names)
            }
            (Command::List { .. }, Reply::Timeouts(t)) => format::list_timeouts(&t),
            (Command::Save { numeric }, Reply::Services { services, .. }) => {
                // Local addresses follow their services as -P lines, match services come last.
                let laddrs = fetch(socket, program, ListRequest::LocalAddrs(None), |r| match r {
                    Reply::LocalAddrs(l) => Ok(l),
                    other => Err(Box::new(other)),
                });
                let matches = fetch(socket, program, ListRequest::Matches, |r| match r {
                    Reply::Matches(m) => Ok(m),
                    other => Err(Box::new(other)),
                });
                let (laddrs, matches) = match (laddrs, matches) {
                    (Ok(l), Ok(m)) => (l, m),
                    (Err(line), _) | (_, Err(line)) => {
                        let _ = writeln!(err, "{line}");
                        return EXIT_UNREACHABLE;
                    }
                };
                let mut text = save::save_with(&services, &laddrs, *numeric, names);
                text.push_str(&save::save_matches(&matches, *numeric, names));
                text
            }
            (Command::ListLocalAddrs { .. }, Reply::LocalAddrs(l)) => format::list_local_addrs(&l),
            (_, Reply::Done) => String::new(),
            (Command::Reload, Reply::Reloaded { changes }) => {
                format!("rvsd reloaded its config: {changes} change(s) applied\n")
            }
            (Command::FlushRemoved, Reply::Flushed { conns }) => {
                format!("rvsd ended {conns} connection(s) of removed services and real servers\n")
            }
            (Command::Announce(_), Reply::Announce(status)) => format::announced(&status),
            // `-L --daemon` lists them; a start or stop prints nothing, as ipvsadm.
            (Command::List { .. }, Reply::SyncDaemons(rows)) => daemon::format_daemons(&rows),
            (Command::SyncDaemon(_), Reply::SyncDaemons(_)) => String::new(),
            (_, other) => {
                let _ = writeln!(err, "{program}: rvsd answered with unexpected data: {other:?}");
                return EXIT_UNREACHABLE;
            }
        },
    };
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        return EXIT_UNREACHABLE;
    }
    0
}
