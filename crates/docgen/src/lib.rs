//! Man pages and shell completions generated from a program's clap command, for the Debian
//! package (`ci/package` runs `rvsd --generate-docs DIR` and `rvsnet --generate-docs DIR`).
//!
//! Owns the generated files' names and the manual section (8: system administration). Must not
//! touch the commands themselves: their help text is the pages' text, so a change of an option
//! shows in the next package. rvsadm's parser is hand-written (see rvs-tools' `rvsadm` module), so its
//! page and bash completion are written by hand in `packaging/`.

use clap::Command;
use clap_complete::Shell;
use std::io;
use std::path::{Path, PathBuf};

/// The manual section of rvs's programs.
pub const SECTION: &str = "8";

/// The shells completions are generated for; the files are named as each shell looks them up
/// (`NAME.bash`, `_NAME`, `NAME.fish`).
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Writes `NAME.8`, a page per subcommand (`NAME-SUB.8`, as the main page's list names them)
/// and one completion file per shell of [`SHELLS`] into `dir` (created if missing); returns the
/// paths written, the main page first.
pub fn generate(mut cmd: Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let name = cmd.get_name().to_string();
    let mut pages = cmd.clone().disable_help_subcommand(true);
    pages.build();
    let source = match cmd.get_version() {
        Some(v) => format!("rvs {v}"),
        None => "rvs".to_string(),
    };
    let mut written = Vec::new();
    write_pages(&pages, &source, dir, &mut written)?;
    for shell in SHELLS {
        written.push(clap_complete::generate_to(shell, &mut cmd, &name, dir)?);
    }
    Ok(written)
}

/// `source` is the page footer's "rvs VERSION", the same on every page (subcommands have no
/// version of their own).
fn write_pages(
    cmd: &Command,
    source: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone()).section(SECTION).source(source.to_string());
    written.push(man.generate_to(dir)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, source, dir, written)?;
    }
    Ok(())
}

/// `--generate-docs DIR` as the only arguments after the program name: the directory, else
/// `None`. For programs whose parser should not carry the option (rvsnet's `ip`-style line).
pub fn requested(argv: &[String]) -> Option<PathBuf> {
    match argv {
        [_, flag, dir] if flag == "--generate-docs" => Some(PathBuf::from(dir)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Command {
        Command::new("demo")
            .version("1.2.3")
            .about("A demo daemon")
            .arg(clap::Arg::new("config").long("config").help("Config file"))
            .subcommand(Command::new("show").about("Show it"))
    }

    #[test]
    fn writes_the_page_and_each_shells_completion() {
        let dir = std::env::temp_dir().join(format!("rvs-docgen-{}", std::process::id()));
        let files = generate(demo(), &dir).unwrap();
        let names: Vec<_> =
            files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["demo.8", "demo-show.8", "demo.bash", "_demo", "demo.fish"]);
        let page = std::fs::read_to_string(dir.join("demo.8")).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        assert!(page.contains(".TH demo 8  \"rvs 1.2.3\""), "{page}");
        assert!(page.contains("\\-\\-config"), "{page}");
        assert!(page.contains("demo\\-show(8)"), "{page}");
        let sub = std::fs::read_to_string(dir.join("demo-show.8")).unwrap();
        assert!(sub.contains(".TH demo-show 8  \"rvs 1.2.3\""), "{sub}");
        let bash = std::fs::read_to_string(dir.join("demo.bash")).unwrap();
        assert!(bash.contains("--config"), "{bash}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_the_exact_request_is_taken() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(requested(&argv(&["x", "--generate-docs", "d"])), Some(PathBuf::from("d")));
        assert_eq!(requested(&argv(&["x", "--generate-docs"])), None);
        assert_eq!(requested(&argv(&["x", "addr", "--generate-docs", "d"])), None);
    }
}
