//! `rvs-keepalived-import` as operators run it: TOML on standard output and notes on standard
//! error when the file converts; every refusal as `file:line: reason`, nothing on standard
//! output and exit status 2 when it does not.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_rvs-keepalived-import")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn converts_to_stdout_or_refuses_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("rvs-ka-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.conf");
    std::fs::write(&good, "vrrp_instance V { }\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n  TCP_CHECK { }\n }\n}\n").unwrap();
    let (code, out, err) = run(&[good.to_str().unwrap(), "--vip-port", "lan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[[addr]]\nport = \"lan\"\nip = \"10.0.0.1/32\"\nkind = \"vip\"\n"),
        "{out}"
    );
    assert!(out.contains("[service.dest.tcp_check]"), "{out}");
    assert!(err.contains(&format!("note: {}:1: vrrp_instance is VRRP", good.display())), "{err}");

    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "virtual_server fwmark 1 {\n}\nvirtual_server 10.0.0.1 80 {\n omega\n}\n")
        .unwrap();
    let (code, out, err) = run(&[bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with(&format!("{}:1: fwmark services", bad.display())), "{err}");
    assert!(lines[1].starts_with(&format!("{}:4: omega", bad.display())), "{err}");
    assert_eq!(lines[2], "rvs-keepalived-import: 2 construct(s) refused; nothing written");

    let (code, _, err) = run(&[dir.join("absent.conf").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = run(&["--generate-docs", dir.join("man").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("man/rvs-keepalived-import.8").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
