//! Records build metadata for the binaries: the git revision (`RVS_GIT_REV`) and the DPDK version
//! pkg-config finds (`RVS_DPDK_VERSION`), read by `rvs::build_info`. Either is `unknown` when the
//! tool or the repository is missing; the build never fails for want of them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let rev = run("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RVS_GIT_REV={rev}");
    watch_git_head();

    let dpdk = run("pkg-config", &["--modversion", "libdpdk"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RVS_DPDK_VERSION={dpdk}");
}

/// Reruns the script when HEAD moves: HEAD itself (branch switch, detached commits) and the ref
/// it points to (a commit on the branch). Works in worktrees, where `.git` is a file.
fn watch_git_head() {
    let Some(git_dir) = run("git", &["rev-parse", "--git-dir"]) else { return };
    let git_dir = PathBuf::from(git_dir);
    let head = git_dir.join("HEAD");
    if head.exists() {
        println!("cargo:rerun-if-changed={}", head.display());
    }
    let Some(reference) = run("git", &["symbolic-ref", "-q", "HEAD"]) else { return };
    let common = run("git", &["rev-parse", "--git-common-dir"]).map(PathBuf::from);
    for dir in [Some(git_dir.as_path()), common.as_deref()].into_iter().flatten() {
        let path: &Path = dir;
        let ref_file = path.join(&reference);
        if ref_file.exists() {
            println!("cargo:rerun-if-changed={}", ref_file.display());
        }
        let packed = path.join("packed-refs");
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
}

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}
