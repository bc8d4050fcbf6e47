//! Every config shipped in conf/ validates, so `ci/lab run` and the README's commands start; a
//! lab's template (`*.toml.in`) validates once its placeholders are filled.

use rvs::config::Config;

#[test]
fn shipped_configs_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("conf/ exists") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if name.ends_with(".toml.in") {
            // A lab's template (ci/lab-vrrp fills its placeholders): validated as dir1's.
            let text = std::fs::read_to_string(&path)
                .expect("template readable")
                .replace("@NAME@", "dir1")
                .replace("@DIP@", "10.98.1.11")
                .replace("@KADDR@", "10.98.1.21");
            assert!(!text.contains('@'), "{name}: a placeholder this test does not fill");
            let rendered = std::env::temp_dir().join(format!(
                "rvs-conf-{}-{}",
                std::process::id(),
                name.trim_end_matches(".in")
            ));
            std::fs::write(&rendered, text).expect("temp file");
            let loaded = Config::load(&rendered);
            let _ = std::fs::remove_file(&rendered);
            if let Err(e) = loaded {
                panic!("{} (rendered for dir1): {e}", path.display());
            }
            seen += 1;
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        if let Err(e) = Config::load(&path) {
            panic!("{}: {e}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 7, "expected the lab, bare-metal and five mode configs, found {seen}");
}
