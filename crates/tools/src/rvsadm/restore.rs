//! `-R`: reading rules (as `-S` writes them) from text into commands.
//!
//! Owns the line rules: words are separated by blanks; the words `ipvsadm` and `rvsadm` are
//! dropped wherever they appear (so saved files and shell-style lines both work); blank lines
//! and lines starting with `#` are skipped (an rvs convenience: ipvsadm leaves that to its
//! `ipvsadm-restore` wrapper); a nested `-R` is refused, and so is any line that is not a change (a listing, `-S`...). Each line is parsed exactly like a
//! command line. Must not touch: applying the commands (the caller, or
//! `ctrl::table::ServiceTable` in tests).

use super::cli::parse_args;
use super::error::CliError;
use super::names::Names;
use rvs_core::ipvs::spec::SpecError;
use rvs_proto::change::Change;
use thiserror::Error;

/// A restore line that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}", self.message())]
pub struct RestoreError {
    /// 1-based line number.
    pub line: usize,
    /// Why it was refused.
    pub source: CliError,
}

impl RestoreError {
    /// What rvsadm prints: `line N: REASON` for a line ipvsadm's own parser refuses, and the bare
    /// reason for an unknown scheduler, which ipvsadm learns only from the kernel when it applies
    /// the line (so its message names no line). rvs refuses both before anything is applied.
    fn message(&self) -> String {
        match &self.source {
            CliError::Model(SpecError::SchedulerNotFound) => self.source.to_string(),
            other => format!("line {}: {other}", self.line),
        }
    }
}

/// Parse every line of `input`; the first bad line stops the parse (nothing is applied).
pub fn parse_restore(
    program: &str,
    input: &str,
    names: &dyn Names,
) -> Result<Vec<Change>, RestoreError> {
    let mut out = Vec::new();
    for (idx, line) in input.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line
            .split([' ', '\t', '\r'])
            .filter(|w| !w.is_empty() && *w != "ipvsadm" && *w != "rvsadm")
            .collect();
        if words.is_empty() {
            continue;
        }
        let refused = |source| RestoreError { line: idx + 1, source };
        let cmd = parse_args(program, &words, names, true).map_err(refused)?;
        out.push(cmd.into_change().ok_or(refused(CliError::NotAChange))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rvsadm::names::NoNames;

    #[test]
    fn restore_line_rules() {
        let text = "# saved by hand\n\nipvsadm -A -t 192.168.0.38:80 -s wrr\n\
                    \t-a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3\r\n\
                    rvsadm -Z\n   \n";
        let cmds = parse_restore("rvsadm", text, &NoNames).unwrap();
        assert_eq!(cmds.len(), 3);
        assert!(matches!(cmds.first(), Some(Change::AddService(_))));
        assert!(matches!(cmds.get(1), Some(Change::AddDest { .. })));
        assert_eq!(cmds.get(2), Some(&Change::Zero(None)));
    }

    #[test]
    fn restore_errors_name_the_line() {
        let text = "-A -t 192.168.0.38:80 -s wrr\n-a -t 192.168.0.38:80 -r 192.168.0.18 -w x\n";
        let e = parse_restore("rvsadm", text, &NoNames).unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.to_string(), "line 2: illegal weight specified");
        // An unknown scheduler is the kernel's refusal in ipvsadm: no line in its message.
        let text = "-A -t 10.1.1.1:80 -s rr\n-A -t 10.1.1.1:81 -s bogus\n";
        let e = parse_restore("rvsadm", text, &NoNames).unwrap_err();
        assert_eq!((e.line, e.source.exit_code()), (2, 255));
        assert_eq!(e.to_string(), "Scheduler or persistence engine not found");
        let e = parse_restore("rvsadm", "-C\n-R\n", &NoNames).unwrap_err();
        assert_eq!((e.line, e.source), (2, CliError::NestedRestore));
        // Restore input holds changes only: a listing or a save is refused before anything is sent.
        for other in ["-S", "-L -n", "-G", "-h"] {
            let e = parse_restore("rvsadm", &format!("-C\n{other}\n"), &NoNames).unwrap_err();
            assert_eq!((e.line, e.source), (2, CliError::NotAChange), "{other}");
        }
    }
}
