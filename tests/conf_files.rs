//! Every config shipped in conf/ validates, so `ci/lab run` and the README's commands start.

use rvs::config::Config;

#[test]
fn shipped_configs_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("conf/ exists") {
        let path = entry.expect("dir entry").path();
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
