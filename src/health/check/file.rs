//! `FILE_CHECK` (keepalived's `track_file`): a number in a file decides the dest.
//!
//! With `weight` 0 the dest is up while the file holds 0 and down otherwise. With a weight W,
//! the value times W (negated with `reverse`) is added to the dest's configured weight: a sum
//! below 0 is down; with `dynamic` the sum becomes the dest's weight (capped at the largest
//! weight). An absent, unreadable or non-numeric file is down. The file is read at each check
//! (every `delay_loop`); files over [`MAX_FILE`] bytes are refused.

use crate::health::plan::FileCheck;
use crate::health::state::CheckResult;
use rvs_core::ipvs::spec::MAX_WEIGHT;
use std::io::Read;

/// Most bytes read from the file.
pub const MAX_FILE: u64 = 4096;

/// One `FILE_CHECK`.
pub fn check(f: &FileCheck) -> CheckResult {
    match read(f) {
        Ok(v) => decide(f, v),
        Err(why) => CheckResult::Failure(why),
    }
}

fn read(f: &FileCheck) -> Result<i64, String> {
    let file = std::fs::File::open(&f.path).map_err(|e| format!("{}: {e}", f.path.display()))?;
    let mut text = String::new();
    file.take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", f.path.display()))?;
    if text.len() as u64 > MAX_FILE {
        return Err(format!("{}: larger than {MAX_FILE} bytes", f.path.display()));
    }
    let word = text.split_whitespace().next().unwrap_or_default();
    word.parse::<i64>().map_err(|_| format!("{}: `{word}` is not a number", f.path.display()))
}

/// The result for value `v`.
pub fn decide(f: &FileCheck, v: i64) -> CheckResult {
    if f.weight == 0 {
        return if v == 0 {
            CheckResult::Success { weight: None }
        } else {
            CheckResult::Failure(format!("{} holds {v}", f.path.display()))
        };
    }
    let delta = v.saturating_mul(f.weight);
    let delta = if f.reverse { delta.saturating_neg() } else { delta };
    let sum = i64::from(f.base_weight).saturating_add(delta);
    if sum < 0 {
        return CheckResult::Failure(format!(
            "{} holds {v}: weight {} {delta:+} is below 0",
            f.path.display(),
            f.base_weight
        ));
    }
    let weight = f.dynamic.then(|| u32::try_from(sum.min(i64::from(MAX_WEIGHT))).unwrap_or(0));
    CheckResult::Success { weight }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc(path: std::path::PathBuf, weight: i64, reverse: bool, dynamic: bool) -> FileCheck {
        FileCheck { path, weight, reverse, dynamic, base_weight: 10 }
    }

    #[test]
    fn the_file_decides_as_track_file_says() {
        let dir = std::env::temp_dir().join(format!("rvs-file-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("state");
        let ok = CheckResult::Success { weight: None };
        std::fs::write(&p, "0\n").unwrap();
        assert_eq!(check(&fc(p.clone(), 0, false, false)), ok);
        std::fs::write(&p, "1\n").unwrap();
        assert!(
            matches!(check(&fc(p.clone(), 0, false, false)), CheckResult::Failure(w) if w.ends_with("holds 1"))
        );
        std::fs::write(&p, "  7 trailing words\n").unwrap();
        assert_eq!(
            check(&fc(p.clone(), 2, false, true)),
            CheckResult::Success { weight: Some(24) }
        );
        assert_eq!(check(&fc(p.clone(), 2, false, false)), ok, "not dynamic: the weight stays");
        assert!(
            matches!(check(&fc(p.clone(), 2, true, true)), CheckResult::Failure(w) if w.contains("below 0"))
        );
        std::fs::write(&p, "-3").unwrap();
        assert_eq!(check(&fc(p.clone(), 2, true, true)), CheckResult::Success { weight: Some(16) });
        std::fs::write(&p, "99999999999").unwrap();
        assert_eq!(
            check(&fc(p.clone(), 1000, false, true)),
            CheckResult::Success { weight: Some(MAX_WEIGHT) }
        );
        std::fs::write(&p, "up").unwrap();
        assert!(
            matches!(check(&fc(p.clone(), 0, false, false)), CheckResult::Failure(w) if w.contains("`up` is not a number"))
        );
        std::fs::write(&p, vec![b'1'; 5000]).unwrap();
        assert!(
            matches!(check(&fc(p.clone(), 0, false, false)), CheckResult::Failure(w) if w.contains("larger than"))
        );
        std::fs::remove_file(&p).unwrap();
        assert!(matches!(check(&fc(p.clone(), 0, false, false)), CheckResult::Failure(_)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
