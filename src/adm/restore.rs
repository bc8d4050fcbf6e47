//! `-R`: reading rules (as `-S` writes them) from text into commands.
//!
//! Owns the line rules: words are separated by blanks; the words `ipvsadm` and `rvsadm` are
//! dropped wherever they appear (so saved files and shell-style lines both work); blank lines
//! and lines starting with `#` are skipped (an rvs convenience: ipvsadm leaves that to its
//! `ipvsadm-restore` wrapper); a nested `-R` is refused. Each line is parsed exactly like a
//! command line. Must not touch: applying the commands (the caller, or
//! [`super::table::ServiceTable`] in tests).

use super::cli::{parse_args, Command};
use super::error::CliError;
use super::names::Names;
use thiserror::Error;

/// A restore line that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {source}")]
pub struct RestoreError {
    /// 1-based line number.
    pub line: usize,
    /// Why it was refused.
    pub source: CliError,
}

/// Parse every line of `input`; the first bad line stops the parse (nothing is applied).
pub fn parse_restore(
    program: &str,
    input: &str,
    names: &dyn Names,
) -> Result<Vec<Command>, RestoreError> {
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
        let cmd = parse_args(program, &words, names, true).map_err(|source| RestoreError {
            line: idx + 1,
            source,
        })?;
        out.push(cmd);
    }
    Ok(out)
}
