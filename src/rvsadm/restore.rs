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
        let cmd = parse_args(program, &words, names, true)
            .map_err(|source| RestoreError { line: idx + 1, source })?;
        out.push(cmd);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rvsadm::cli::parse;
    use crate::rvsadm::format::list_all;
    use crate::rvsadm::names::{NoNames, StaticNames};
    use crate::rvsadm::save::save;
    use crate::rvsadm::table::ServiceTable;
    use crate::rvsadm::ListFormat;

    fn build(lines: &[&str], names: &dyn Names) -> ServiceTable {
        let mut t = ServiceTable::new();
        for l in lines {
            let argv: Vec<&str> = l.split_whitespace().collect();
            let c = parse(&argv, names).unwrap_or_else(|e| panic!("{l}: {e}"));
            t.apply(&c).unwrap_or_else(|e| panic!("{l}: {e}"));
        }
        t
    }

    fn restore_into(t: &mut ServiceTable, text: &str, names: &dyn Names) {
        for c in parse_restore("rvsadm", text, names).unwrap() {
            t.apply(&c).unwrap();
        }
    }

    const RICH: &[&str] = &[
        "rvsadm -A -t 192.168.0.38:80 -s wrr",
        "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3",
        "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.28:80 -g -w 1",
        "rvsadm -A -u 10.0.0.53:53 -s rr -p 360 -M 255.255.255.0 -o",
        "rvsadm -a -u 10.0.0.53:53 -r 10.1.1.1:5353 -m -w 0",
        "rvsadm -A -t 10.0.0.1:0 -s sh -b sh-fallback,sh-port -p",
        "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.5:8080 -b -w 65535",
        "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.6 -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.7 -i --tun-type gre --tun-csum",
        "rvsadm -a -t 10.0.0.1:0 -r 172.16.0.8 -i",
        "rvsadm -A -t 10.0.0.2:80 -s rr -b flag-3",
        "rvsadm -a -t 10.0.0.2:80 -r 10.0.0.9:80 -J",
        "rvsadm -A -t [2001:db8::10]:443 -p 600 -M 64",
        "rvsadm -a -t [2001:db8::10]:443 -r [2001:db8::20]:443",
        "rvsadm -a -t [2001:db8::10]:443 -r 10.9.9.9 -i",
        "rvsadm -a -t [2001:db8::10]:443 -r [2001:db8::30]:8443 -m -w 7",
    ];

    #[test]
    fn save_clear_restore_reproduces_the_table() {
        for numeric in [true, false] {
            let names = StaticNames::from_text(
                "192.168.0.38 vip\n192.168.0.18 web1\n",
                "http 80/tcp\ndomain 53/udp\nhttps 443/tcp\n",
            );
            let original = build(RICH, &names);
            let saved = save(original.services(), numeric, &names);
            let mut t = original.clone();
            t.apply(&parse(&["rvsadm", "-C"], &names).unwrap()).unwrap();
            assert!(t.services().is_empty());
            restore_into(&mut t, &saved, &names);
            assert_eq!(save(t.services(), numeric, &names), saved);
            let f = ListFormat { numeric: true, ..ListFormat::default() };
            assert_eq!(
                list_all(4096, t.services(), &f, &NoNames),
                list_all(4096, original.services(), &f, &NoNames)
            );
            // Same services and dests, whatever the order.
            for s in original.services() {
                let r = t
                    .services()
                    .iter()
                    .find(|x| x.spec == s.spec)
                    .unwrap_or_else(|| panic!("{:?} lost", s.spec.key));
                for d in &s.dests {
                    assert!(r.dests.iter().any(|x| x.spec == d.spec), "{:?} lost", d.spec);
                }
                assert_eq!(r.dests.len(), s.dests.len());
            }
        }
    }

    #[test]
    fn seeds_survive_the_round_trip() {
        // The seeds add real servers to 172.16.100.1:80 without showing its -A line.
        let mut lines = vec!["rvsadm -A -t 172.16.100.1:80 -s rr"];
        lines.extend(
            include_str!("../../tests/data/adm/seed_commands.txt")
                .lines()
                .filter(|l| l.contains(" -A ") || l.contains(" -a ")),
        );
        let original = build(&lines, &NoNames);
        assert_eq!(original.services().len(), 9);
        let saved = save(original.services(), true, &NoNames);
        let mut t = ServiceTable::new();
        restore_into(&mut t, &saved, &NoNames);
        assert_eq!(save(t.services(), true, &NoNames), saved);
    }

    #[test]
    fn restore_line_rules() {
        let text = "# saved by hand\n\nipvsadm -A -t 192.168.0.38:80 -s wrr\n\
                    \t-a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3\r\n\
                    rvsadm -Z\n   \n";
        let cmds = parse_restore("rvsadm", text, &NoNames).unwrap();
        assert_eq!(cmds.len(), 3);
        assert!(matches!(cmds.first(), Some(Command::AddService(_))));
        assert!(matches!(cmds.get(1), Some(Command::AddDest { .. })));
        assert_eq!(cmds.get(2), Some(&Command::Zero(None)));
    }

    #[test]
    fn restore_errors_name_the_line() {
        let text = "-A -t 192.168.0.38:80 -s wrr\n-a -t 192.168.0.38:80 -r 192.168.0.18 -w x\n";
        let e = parse_restore("rvsadm", text, &NoNames).unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.to_string(), "line 2: illegal weight specified");
        let e = parse_restore("rvsadm", "-C\n-R\n", &NoNames).unwrap_err();
        assert_eq!((e.line, e.source), (2, CliError::NestedRestore));
    }
}
