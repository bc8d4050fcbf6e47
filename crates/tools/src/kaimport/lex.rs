//! Reading a keepalived.conf into words with their file and line, as keepalived's parser sees
//! them (keepalived.conf(5), "DESCRIPTION" and "ADVANCED CONFIGURATION").
//!
//! Owns: `include` (and its `includer`/`includem`/`includew`/`includeb` variants) with glob
//! patterns, relative to the including file's directory; comments from `#` or `!` to the end
//! of the line outside quotes; double-quoted strings (quotes removed, spaces kept); `{` and `}`
//! as words of their own even when written against a word; conditional lines (`@ID` kept when
//! the config id is ID, `@^ID` when it is not); one-line parameter definitions (`$NAME=value`)
//! and their uses (`$NAME`, `${NAME}`). Multi-line definitions and `~SEQ` are refused with the
//! line. Must not know any keyword but `include`: the tree and the conversion do that.
//!
//! Hand-written because keepalived's file format is its own (no TOML/YAML/INI crate reads it);
//! the glob expansion is the `glob` crate's.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::Refusal;

/// Most files read through `include` (a loop of includes is refused by depth first).
pub const MAX_FILES: usize = 1000;
/// Deepest chain of includes.
pub const MAX_DEPTH: usize = 16;
/// Largest file read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Where a word was written: an index into [`Source::files`] and a 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    /// Index into the list of files read.
    pub file: usize,
    /// 1-based line.
    pub line: usize,
}

/// One word of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Its text, quotes removed.
    pub text: String,
    /// Whether it was written in quotes (a quoted `{` is not a brace).
    pub quoted: bool,
}

/// One line's words (a line that holds only a comment has none and is not kept).
#[derive(Debug, Clone)]
pub struct Line {
    /// Where.
    pub at: Loc,
    /// Its words.
    pub words: Vec<Word>,
}

/// Every line of the main file and its includes, in reading order.
#[derive(Debug, Default)]
pub struct Source {
    /// The files, in the order they were opened.
    pub files: Vec<PathBuf>,
    /// The lines with words, includes expanded in place.
    pub lines: Vec<Line>,
}

impl Source {
    /// `file:line` of `at`.
    pub fn place(&self, at: Loc) -> Place<'_> {
        Place { path: self.files.get(at.file).map(PathBuf::as_path), line: at.line }
    }
}

/// `file:line`, for messages.
pub struct Place<'a> {
    path: Option<&'a Path>,
    line: usize,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path {
            Some(p) => write!(f, "{}:{}", p.display(), self.line),
            None => write!(f, "<unknown>:{}", self.line),
        }
    }
}

/// Reads `path` and everything it includes; `config_id` decides `@ID` lines.
pub fn read(path: &Path, config_id: &str) -> Result<Source, Vec<Refusal>> {
    let mut r = Reader {
        src: Source::default(),
        params: HashMap::new(),
        config_id: config_id.to_owned(),
        refusals: Vec::new(),
    };
    r.file(path, None, 0);
    if r.refusals.is_empty() {
        Ok(r.src)
    } else {
        Err(r.refusals)
    }
}

/// Reads text as if it were the file `name` (tests; includes are relative to the current
/// directory).
pub fn read_str(text: &str, name: &str, config_id: &str) -> Result<Source, Vec<Refusal>> {
    let mut r = Reader {
        src: Source::default(),
        params: HashMap::new(),
        config_id: config_id.to_owned(),
        refusals: Vec::new(),
    };
    r.src.files.push(PathBuf::from(name));
    r.text(text, 0, Path::new("."), 0);
    if r.refusals.is_empty() {
        Ok(r.src)
    } else {
        Err(r.refusals)
    }
}

struct Reader {
    src: Source,
    params: HashMap<String, String>,
    config_id: String,
    refusals: Vec<Refusal>,
}

impl Reader {
    fn refuse(&mut self, at: Option<Loc>, what: impl Into<String>) {
        let place = match at {
            Some(at) => self.src.place(at).to_string(),
            None => String::from("<command line>"),
        };
        self.refusals.push(Refusal { place, reason: what.into() });
    }

    fn file(&mut self, path: &Path, from: Option<Loc>, depth: usize) {
        if depth > MAX_DEPTH {
            return self.refuse(
                from,
                format!("includes nest deeper than {MAX_DEPTH} files (an include loop?)"),
            );
        }
        if self.src.files.len() >= MAX_FILES {
            return self.refuse(from, format!("more than {MAX_FILES} files are included"));
        }
        let text = match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                return self.refuse(
                    from,
                    format!("{} is larger than {MAX_FILE_BYTES} bytes", path.display()),
                )
            }
            Ok(_) => match std::fs::read(path) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => return self.refuse(from, format!("cannot read {}: {e}", path.display())),
            },
            Err(e) => return self.refuse(from, format!("cannot read {}: {e}", path.display())),
        };
        let idx = self.src.files.len();
        self.src.files.push(path.to_owned());
        let dir = path.parent().map(Path::to_owned).unwrap_or_else(|| PathBuf::from("."));
        self.text(&text, idx, &dir, depth);
    }

    fn text(&mut self, text: &str, file: usize, dir: &Path, depth: usize) {
        for (n, raw) in text.lines().enumerate() {
            let at = Loc { file, line: n + 1 };
            let Some(raw) = self.condition(raw.trim_start()) else { continue };
            let raw = raw.trim();
            if let Some(def) = raw.strip_prefix('$') {
                if let Some((name, value)) = def.split_once('=') {
                    let name = name.trim();
                    if !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        if value.trim_end().ends_with('\\') {
                            self.refuse(Some(at), format!("${name} is defined over several lines, which the importer does not read: write it on one line"));
                        } else {
                            self.params.insert(name.to_owned(), value.trim().to_owned());
                        }
                        continue;
                    }
                }
            }
            let expanded = match self.substitute(raw) {
                Ok(s) => s,
                Err(why) => {
                    self.refuse(Some(at), why);
                    continue;
                }
            };
            let words = match split(&expanded) {
                Ok(w) => w,
                Err(why) => {
                    self.refuse(Some(at), why);
                    continue;
                }
            };
            if words.first().is_some_and(|w| w.text.starts_with("~SEQ")) {
                self.refuse(
                    Some(at),
                    "~SEQ line generation is not read by the importer: write the lines out",
                );
                continue;
            }
            match words.first().map(|w| w.text.as_str()) {
                Some("include" | "includer" | "includem" | "includew" | "includeb")
                    if !words[0].quoted =>
                {
                    match words.get(1) {
                        Some(pat) if words.len() == 2 => self.include(&pat.text, dir, at, depth),
                        _ => self.refuse(Some(at), "include takes one file name or pattern"),
                    }
                }
                Some(_) => self.src.lines.push(Line { at, words }),
                None => {}
            }
        }
    }

    /// The line without its `@ID`/`@^ID` prefix when it applies, `None` when it does not.
    fn condition<'a>(&self, line: &'a str) -> Option<&'a str> {
        let Some(rest) = line.strip_prefix('@') else { return Some(line) };
        let (neg, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (id, body) = rest.split_at(end);
        ((id == self.config_id) != neg).then_some(body)
    }

    fn substitute(&self, line: &str) -> Result<String, String> {
        if !line.contains('$') {
            return Ok(line.to_owned());
        }
        let mut out = String::new();
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(j) => (&b[..j], &b[j + 1..]),
                    None => return Err("`${` without its `}`".into()),
                }
            } else {
                let j = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..j], &after[j..])
            };
            if name.is_empty() {
                out.push('$');
            } else {
                match self.params.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(format!(
                        "${name} is not defined (define it with ${name}=value on a line before)"
                    ))
                    }
                }
            }
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }

    fn include(&mut self, pattern: &str, dir: &Path, at: Loc, depth: usize) {
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            dir.join(pattern)
        };
        let text = full.to_string_lossy().into_owned();
        let paths = match glob::glob(&text) {
            Ok(p) => p,
            Err(e) => return self.refuse(Some(at), format!("include pattern `{pattern}`: {e}")),
        };
        let mut found: Vec<PathBuf> =
            paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        found.sort();
        // keepalived reads an include that matches nothing as nothing (with a log line).
        for p in found {
            self.file(&p, Some(at), depth + 1);
        }
    }
}

/// Splits one line into words: comments cut, quotes removed, braces apart.
pub fn split(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    let flush = |cur: &mut String, words: &mut Vec<Word>| {
        if !cur.is_empty() {
            words.push(Word { text: std::mem::take(cur), quoted: false });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' => break,
            '"' => {
                flush(&mut cur, &mut words);
                let mut q = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    q.push(c);
                }
                if !closed {
                    return Err("a quoted string is not closed on its line".into());
                }
                words.push(Word { text: q, quoted: true });
            }
            '{' | '}' => {
                flush(&mut cur, &mut words);
                words.push(Word { text: c.to_string(), quoted: false });
            }
            c if c.is_whitespace() => flush(&mut cur, &mut words),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut words);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split(line).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn words_comments_quotes_and_braces() {
        assert_eq!(texts("real_server 10.0.0.1 80{"), ["real_server", "10.0.0.1", "80", "{"]);
        assert_eq!(texts("  weight 3 # the big one"), ["weight", "3"]);
        assert_eq!(texts("weight 3 ! also a comment"), ["weight", "3"]);
        assert_eq!(
            texts("misc_path \"/bin/check -x #1 {a}\" }"),
            ["misc_path", "/bin/check -x #1 {a}", "}"]
        );
        assert_eq!(texts("url { path / }"), ["url", "{", "path", "/", "}"]);
        assert!(texts("! only a comment").is_empty());
        assert!(split("notify_up \"/bin/x").is_err());
    }

    #[test]
    fn conditions_and_parameters() {
        let text =
            "$PORT=8080\n@high weight 5\n@^high weight 1\nconnect_port ${PORT}\nx $PORT$PORT\n";
        let s = read_str(text, "k.conf", "high").unwrap();
        let lines: Vec<Vec<String>> =
            s.lines.iter().map(|l| l.words.iter().map(|w| w.text.clone()).collect()).collect();
        assert_eq!(
            lines,
            vec![vec!["weight", "5"], vec!["connect_port", "8080"], vec!["x", "80808080"]]
        );
        assert_eq!(s.lines[1].at.line, 4);
        let s = read_str(text, "k.conf", "low").unwrap();
        assert_eq!(s.lines[0].words[1].text, "1");
        let e = read_str("x $NOPE\n", "k.conf", "").unwrap_err();
        assert_eq!(e[0].place, "k.conf:1");
        assert!(e[0].reason.contains("$NOPE is not defined"), "{}", e[0].reason);
    }

    #[test]
    fn includes_with_globs_are_relative_to_the_including_file() {
        let dir = std::env::temp_dir().join(format!("rvs-ka-lex-{}", std::process::id()));
        let sub = dir.join("conf.d");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(dir.join("main.conf"), "a 1\ninclude conf.d/*.conf\nb 2\n").unwrap();
        std::fs::write(sub.join("20-y.conf"), "y 1\n").unwrap();
        std::fs::write(sub.join("10-x.conf"), "! x\nx 1\ninclude ../leaf.inc\n").unwrap();
        std::fs::write(dir.join("leaf.inc"), "leaf 1\n").unwrap();
        let s = read(&dir.join("main.conf"), "").unwrap();
        let order: Vec<String> = s.lines.iter().map(|l| l.words[0].text.clone()).collect();
        assert_eq!(order, ["a", "x", "leaf", "y", "b"]);
        let x = &s.lines[1];
        assert_eq!(s.place(x.at).to_string(), format!("{}:2", sub.join("10-x.conf").display()));
        std::fs::write(dir.join("loop.conf"), "include loop.conf\n").unwrap();
        let e = read(&dir.join("loop.conf"), "").unwrap_err();
        assert!(e[0].reason.contains("nest deeper"), "{:?}", e);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
