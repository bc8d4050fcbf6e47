//! [`ConfigError`]: why a config file was refused, with where (file, line, key) and what to fix.

use std::path::PathBuf;

/// Why a config was refused. The `Display` text is meant for the operator: it names the file, the
/// line or the key (`port[1].rx_queues`, `worker[0].rx[1]`) and says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the config file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or a key or value the schema does not have (an unknown key, a string where a
    /// number belongs, a missing required key).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file (`<inline>` for [`super::Config::from_toml_str`]).
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// Well-formed, but breaks a rule: the key and how to fix it.
    #[error("{}: {key}: {message}", path.display())]
    Invalid {
        /// The file (`<inline>` for [`super::Config::from_toml_str`]).
        path: PathBuf,
        /// The offending key, for example `port[1].rx_queues` (indices are 0-based, in file order).
        key: String,
        /// What is wrong and what to change.
        message: String,
    },
}

impl ConfigError {
    /// The offending key of an [`ConfigError::Invalid`] error.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// A rule violation found by the checks, before the file path is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub key: String,
    pub message: String,
}

/// Shorthand for the checks: `Err(invalid(key, message))`.
pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid { key: key.into(), message: message.into() }
}

/// Converts a byte offset in `text` to a 1-based (line, column in characters) pair.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 1000), (3, 1));
    }
}
