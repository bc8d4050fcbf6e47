//! The TOML written by the importer: ordered tables of keys, sub-tables and arrays of tables,
//! written as rvsd's config sections (`[[service]]`, `[[service.dest]]`,
//! `[service.dest.http_get]`, `[[service.dest.http_get.url]]`).
//!
//! Owns the text form only (TOML basic strings, numbers, booleans, arrays); which keys exist is
//! the conversion's business. Hand-written rather than through the `toml` crate's serializer
//! because the order of keys and the comments that say where each section came from are part
//! of the output, and the tools crate keeps its dependencies to the vocabulary and the CLI.

use std::fmt::Write;

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A basic string.
    Str(String),
    /// An integer.
    Int(i64),
    /// Seconds, possibly fractional.
    Secs(f64),
    /// A boolean.
    Bool(bool),
    /// An array.
    List(Vec<Value>),
}

/// One table: keys, then sub-tables, then arrays of tables, each in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// A comment written above the table's header.
    pub comment: Option<String>,
    /// `key = value` lines.
    pub keys: Vec<(String, Value)>,
    /// `[name]` sub-tables.
    pub subs: Vec<(String, Table)>,
    /// `[[name]]` arrays of tables.
    pub arrays: Vec<(String, Vec<Table>)>,
}

impl Table {
    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: &str, v: Value) {
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = v,
            None => self.keys.push((key.to_owned(), v)),
        }
    }

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == key)
    }

    /// Appends a table to the array `name`.
    pub fn push(&mut self, name: &str, t: Table) {
        match self.arrays.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1.push(t),
            None => self.arrays.push((name.to_owned(), vec![t])),
        }
    }
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value(v: &Value) -> String {
    match v {
        Value::Str(s) => quote(s),
        Value::Int(n) => n.to_string(),
        Value::Secs(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Value::Secs(f) => format!("{f}"),
        Value::Bool(b) => b.to_string(),
        Value::List(items) => {
            let inner: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", inner.join(", "))
        }
    }
}

/// Writes `t` as the table `path` (an array element when `array`).
pub fn write_table(out: &mut String, path: &str, t: &Table, array: bool) {
    out.push('\n');
    if let Some(c) = &t.comment {
        for l in c.lines() {
            let _ = writeln!(out, "# {l}");
        }
    }
    if array {
        let _ = writeln!(out, "[[{path}]]");
    } else {
        let _ = writeln!(out, "[{path}]");
    }
    for (k, v) in &t.keys {
        let _ = writeln!(out, "{k} = {}", value(v));
    }
    for (name, sub) in &t.subs {
        write_table(out, &format!("{path}.{name}"), sub, false);
    }
    for (name, items) in &t.arrays {
        for item in items {
            write_table(out, &format!("{path}.{name}"), item, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_tables_are_written_in_toml_order() {
        let mut url = Table::default();
        url.set("path", Value::Str("/a \"b\"\\".into()));
        let mut http = Table::default();
        http.set("connect_timeout", Value::Secs(2.5));
        http.push("url", url);
        let mut dest = Table::default();
        dest.set("weight", Value::Int(3));
        dest.subs.push(("http_get".into(), http));
        let mut svc = Table { comment: Some("from k.conf:3".into()), ..Table::default() };
        svc.set("delay_loop", Value::Secs(6.0));
        svc.set("flags", Value::List(vec![Value::Str("sh-port".into())]));
        svc.push("dest", dest);
        let mut out = String::new();
        write_table(&mut out, "service", &svc, true);
        assert_eq!(
            out,
            "\n# from k.conf:3\n[[service]]\ndelay_loop = 6\nflags = [\"sh-port\"]\n\n[[service.dest]]\nweight = 3\n\n[service.dest.http_get]\nconnect_timeout = 2.5\n\n[[service.dest.http_get.url]]\npath = \"/a \\\"b\\\"\\\\\"\n"
        );
        assert_eq!(quote("a\u{1}"), "\"a\\u0001\"");
    }
}
