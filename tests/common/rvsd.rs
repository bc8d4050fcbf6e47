//! An rvsd process a DPDK integration test starts on a config text of its own, in a scratch
//! directory of its own; killed, reaped and its directory removed when the test drops it (also
//! when the test panics). Owns nothing else: each test writes its config and waits for what it
//! needs (the control socket, the metrics) itself.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub struct Rvsd {
    pub child: Child,
    pub dir: PathBuf,
}

impl Rvsd {
    /// A fresh scratch directory `rvs-NAME-PID` under the temporary directory (what a previous
    /// run left there is removed).
    pub fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rvs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    /// Writes `config` to `dir/rvs.toml` and starts the test build's rvsd on it (`RVS_LOG=warn`).
    pub fn spawn(dir: &Path, config: &str) -> Rvsd {
        let cfg_path = dir.join("rvs.toml");
        std::fs::write(&cfg_path, config).expect("config written");
        let child = Command::new(env!("CARGO_BIN_EXE_rvsd"))
            .arg("-c")
            .arg(&cfg_path)
            .env("RVS_LOG", "warn")
            .spawn()
            .expect("rvsd runs");
        Rvsd { child, dir: dir.to_path_buf() }
    }

    /// Panics, naming rvsd's exit status, when rvsd has already exited (for start-up waits).
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("rvsd's status") {
            panic!("rvsd exited early: {status}");
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Rvsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
