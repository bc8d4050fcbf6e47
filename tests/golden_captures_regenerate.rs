//! The committed golden captures are exactly what their generators write: each generator in
//! `tests/data/` is run into a fresh directory and every file it writes must equal the committed
//! one byte for byte, and every committed capture must come from a generator. So a capture
//! cannot drift from the rules its generator documents, and nobody can "fix" a golden by
//! editing bytes. Needs `python3` (standard library only).

use std::path::{Path, PathBuf};
use std::process::Command;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Runs `script` with `out` as its output directory; returns the files it wrote.
fn generate(script: &Path, out: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(out).unwrap();
    let st = Command::new("python3")
        .arg(script)
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("python3 {}: {e}", script.display()));
    assert!(
        st.status.success(),
        "{}: {}\n{}",
        script.display(),
        st.status,
        String::from_utf8_lossy(&st.stderr)
    );
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty(), "{} wrote nothing", script.display());
    files
}

fn pcaps_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    v.sort();
    v
}

#[test]
fn committed_captures_equal_their_generators_output() {
    let tmp = std::env::temp_dir().join(format!("rvs-golden-regen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let runs = [
        ("gen_foundation_pcaps.py", data(), tmp.join("foundation")),
        ("gen_mode_pcaps.py", data().join("modes"), tmp.join("modes")),
        ("gen_error_pcaps.py", data().join("modes"), tmp.join("errors")),
    ];
    let mut made: Vec<(PathBuf, String)> = Vec::new();
    for (script, committed, out) in &runs {
        for f in generate(&data().join(script), out) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let want = std::fs::read(committed.join(&name))
                .unwrap_or_else(|e| panic!("{script} writes {name}, which is not committed: {e}"));
            let got = std::fs::read(&f).unwrap();
            assert!(got == want, "{name} differs from what {script} writes now: regenerate it");
            made.push((committed.clone(), name));
        }
    }
    for dir in [data(), data().join("modes")] {
        for name in pcaps_in(&dir) {
            assert!(
                made.iter().any(|(d, n)| *d == dir && *n == name),
                "{}/{name} is committed but no generator writes it",
                dir.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
