//! The importer on configurations shaped like those operators run (one web farm with HTTP_GET
//! and SSL_GET, DR with a sorry server and quorum, UDP/DNS, a group of VIPs, a file-driven
//! weight), and its refusals with their file:line.

use super::*;

fn ok(text: &str) -> Imported {
    match import_str(text, "keepalived.conf", &Options::default()) {
        Ok(i) => i,
        Err(r) => panic!("refused: {r:?}"),
    }
}

fn refused(text: &str) -> Vec<String> {
    match import_str(text, "keepalived.conf", &Options::default()) {
        Ok(i) => panic!("accepted:\n{}", i.toml),
        Err(r) => r.iter().map(ToString::to_string).collect(),
    }
}

const WEB: &str = r#"
! web farm: two NAT real servers behind one VIP, plain and TLS
global_defs {
   router_id LB1
}

vrrp_instance VI_WEB {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        10.0.0.100
    }
}

virtual_server 10.0.0.100 80 {
    delay_loop 3
    lb_algo wlc
    lb_kind NAT
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    protocol TCP
    virtualhost www.example.com
    inhibit_on_failure

    real_server 10.0.1.11 8080 {
        weight 3
        uthreshold 2000
        lthreshold 100
        notify_up "/etc/keepalived/notify.sh up rs1"
        HTTP_GET {
            url {
                path /health
                status_code 200 300-399
                digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            url {
                path "/ready"
                regex "ok|alive"
            }
            connect_timeout 2.5
            nb_get_retry 2
            delay_before_retry 1
            http_protocol 1.1
        }
    }
    real_server 10.0.1.12 8080 {
        weight 1
        TCP_CHECK {
            connect_port 8081
            bindto 10.0.0.5
        }
        MISC_CHECK {
            misc_path "/usr/local/bin/check-app 10.0.1.12"
            misc_timeout 4
            misc_dynamic
        }
    }
}

virtual_server 10.0.0.100 443 {
    lb_algo sh
    sh-port
    lb_kind DR
    protocol TCP
    quorum 2
    hysteresis 1
    quorum_up /etc/keepalived/quorum.sh
    sorry_server 10.0.9.9 443
    sorry_server_inhibit

    real_server 10.0.0.11 443 {
        SSL_GET {
            url { path / }
            enable_sni
            virtualhost secure.example.com
        }
    }
    real_server 10.0.0.12 443 {
        lvs_method TUN type gue port 6080 csum
        weight 2
        PING_CHECK { connect_timeout 1 }
    }
}
"#;

#[test]
fn a_web_farm_converts_key_by_key() {
    let i = ok(WEB);
    assert_eq!(i.services, 2);
    let t = &i.toml;
    for want in [
        "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\ndelay_loop = 3\nscheduler = \"wlc\"\npersistence = 300\nnetmask = \"255.255.255.0\"\nvirtualhost = \"www.example.com\"\ninhibit_on_failure = true\n",
        "[[service.dest]]\naddr = \"10.0.1.11:8080\"\nfwd = \"nat\"\nweight = 3\nupper = 2000\nlower = 100\nnotify_up = \"/etc/keepalived/notify.sh up rs1\"\n",
        "[service.dest.http_get]\nconnect_timeout = 2.5\nretry = 2\ndelay_before_retry = 1\nhttp_protocol = \"1.1\"\n",
        "[[service.dest.http_get.url]]\npath = \"/health\"\nstatus_code = [200, \"300-399\"]\ndigest = \"9b3a0c85a887a256d6939da88aabd8cd\"\n",
        "[[service.dest.http_get.url]]\npath = \"/ready\"\nregex = \"ok|alive\"\n",
        "[service.dest.tcp_check]\nconnect_port = 8081\nbindto = \"10.0.0.5\"\n",
        "[service.dest.misc_check]\nmisc_path = \"/usr/local/bin/check-app 10.0.1.12\"\nmisc_timeout = 4\nmisc_dynamic = true\n",
        "vip = \"10.0.0.100:443\"\nscheduler = \"sh\"\nquorum = 2\nhysteresis = 1\nquorum_up = \"/etc/keepalived/quorum.sh\"\nsorry_server = \"10.0.9.9:443\"\nsorry_server_inhibit = true\nflags = [\"sh-port\"]\nsorry_server_fwd = \"dr\"\n",
        "[service.dest.ssl_get]\nenable_sni = true\nvirtualhost = \"secure.example.com\"\n",
        "[[service.dest]]\naddr = \"10.0.0.12:443\"\nfwd = \"tun\"\ntun_type = \"gue\"\ntun_port = 6080\ntun_csum = \"csum\"\nweight = 2\n\n[service.dest.ping_check]\nconnect_timeout = 1\n",
    ] {
        assert!(t.contains(want), "missing:\n{want}\nin:\n{t}");
    }
    assert!(
        i.notes
            .iter()
            .any(|n| n.starts_with("keepalived.conf:7: vrrp_instance is VRRP: left to keepalived")),
        "{:?}",
        i.notes
    );
    assert!(i.notes.iter().any(|n| n.starts_with("keepalived.conf:3: global_defs")));
    assert!(t.contains(
        "# declare each VIP as an [[addr]] of kind \"vip\" in the director's config: 10.0.0.100\n"
    ));
}

#[test]
fn groups_expand_and_vip_addrs_are_written_on_request() {
    let text = "virtual_server_group WEB {\n  10.0.0.100 80\n  10.0.0.110-112 8080\n}\nvirtual_server group WEB {\n lb_algo rr\n protocol UDP\n real_server 10.0.1.1 53 {\n  DNS_CHECK { type a\n name www.example.test }\n }\n}\n";
    let opts =
        Options { vip_port: Some("lan".into()), config_id: String::new(), vip_standby: false };
    let i = import_str(text, "g.conf", &opts).unwrap();
    assert_eq!(i.services, 4);
    for vip in ["10.0.0.100:80", "10.0.0.110:8080", "10.0.0.111:8080", "10.0.0.112:8080"] {
        assert!(i.toml.contains(&format!("vip = \"{vip}\"")), "{vip}");
    }
    assert!(i.toml.contains("[[addr]]\nport = \"lan\"\nip = \"10.0.0.111/32\"\nkind = \"vip\"\n"));
    assert_eq!(
        i.toml
            .matches("[service.dest.dns_check]\ntype = \"A\"\nname = \"www.example.test\"\n")
            .count(),
        4
    );
    assert!(i.toml.contains("proto = \"udp\""));
}

#[test]
fn file_checks_take_their_track_file() {
    let text = "track_file maint {\n file /run/maint\n weight -5 reverse\n}\nvirtual_server 10.0.0.100 80 {\n real_server 10.0.1.1 80 {\n  FILE_CHECK {\n   track_file maint\n   dynamic\n  }\n  SMTP_CHECK { helo_name lb.example.test\n host { connect_ip 10.0.1.1\n connect_port 25 } }\n }\n}\n";
    let i = ok(text);
    assert!(i.toml.contains("[service.dest.file_check]\ndynamic = true\nfile = \"/run/maint\"\nweight = -5\nreverse = true\n"), "{}", i.toml);
    assert!(i.toml.contains("[service.dest.smtp_check]\nhelo_name = \"lb.example.test\"\nconnect_ip = \"10.0.1.1\"\nconnect_port = 25\n"), "{}", i.toml);
}

#[test]
fn what_rvs_cannot_do_is_refused_with_file_and_line() {
    let r = refused("virtual_server fwmark 7 {\n lb_algo rr\n}\n");
    assert_eq!(r, ["keepalived.conf:1: fwmark services: rvs has no firewall marks (DPDK bypasses netfilter); declare one service per VIP:port instead"]);
    let r = refused("virtual_server 10.0.0.1 80 {\n protocol SCTP\n persistence_engine sip\n real_server 10.0.1.1 80 {\n  BFD_CHECK { name b1 }\n  TCP_CHECK { bind_if eth0 }\n  TCP_CHECK { }\n  weight x\n  frobnicate 1\n }\n lb_algo fastest\n}\nvrrp_instance X { }\nbogus_block { }\n");
    let want = [
        "keepalived.conf:2: protocol SCTP",
        "keepalived.conf:3: persistence_engine",
        "keepalived.conf:5: BFD_CHECK name `b1`: no bfd_instance has that name",
        "keepalived.conf:6: bind_if",
        "keepalived.conf:7: a second TCP_CHECK on this real_server",
        "keepalived.conf:8: weight `x` is not a whole number",
        "keepalived.conf:9: `frobnicate` is not a real_server keyword",
        "keepalived.conf:11: ",
        "keepalived.conf:14: `bogus_block` is not a keepalived keyword",
    ];
    assert_eq!(r.len(), want.len(), "{r:#?}");
    for (got, want) in r.iter().zip(want) {
        assert!(got.starts_with(want), "{got} / {want}");
    }
    assert!(r[7].contains("fastest"), "{}", r[7]);
    let r = refused("virtual_server 2001:db8::1 80 {\n}\n");
    assert!(r[0].starts_with("keepalived.conf:1: 2001:db8::1: rvs serves IPv4"), "{r:?}");
    let r = refused("virtual_server_group G {\n fwmark 3\n 10.0.0.1-0 80\n}\nvirtual_server group G {\n}\nvirtual_server group H {\n}\n");
    assert!(r[0].starts_with("keepalived.conf:2: fwmark in a virtual_server_group"), "{r:?}");
    assert!(r[1].starts_with("keepalived.conf:3: `10.0.0.1-0` is not a range"), "{r:?}");
    assert!(r[2].starts_with("keepalived.conf:7: virtual_server_group H is not defined"), "{r:?}");
    let r = refused("virtual_server 10.0.0.1 80 {\n quorum_up /bin/q nobody\n real_server 10.0.1.1 80 {\n  MISC_CHECK { misc_path /bin/x\n user nobody }\n }\n}\n");
    assert!(r[0].contains("runs as user `nobody`"), "{r:?}");
    assert!(r[1].starts_with("keepalived.conf:5: user"), "{r:?}");
    let r = refused("virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n  MISC_CHECK {\n misc_path /bin/x\n connect_timeout 3\n }\n }\n}\n");
    assert!(
        r[0].starts_with(
            "keepalived.conf:5: connect_timeout in MISC_CHECK: a script's timeout is misc_timeout"
        ),
        "{r:?}"
    );
}

#[test]
fn refusals_in_included_files_name_that_file() {
    let dir = std::env::temp_dir().join(format!("rvs-ka-import-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("vs.d")).unwrap();
    std::fs::write(dir.join("keepalived.conf"), "include vs.d/*.conf\n").unwrap();
    std::fs::write(
        dir.join("vs.d/web.conf"),
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 { weight 1 }\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("vs.d/mail.conf"),
        "\n\nvirtual_server 10.0.0.1 25 {\n ha_suspend\n}\n",
    )
    .unwrap();
    let r = import(&dir.join("keepalived.conf"), &Options::default()).unwrap_err();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].place, format!("{}:4", dir.join("vs.d/mail.conf").display()));
    std::fs::remove_file(dir.join("vs.d/mail.conf")).unwrap();
    let i = import(&dir.join("keepalived.conf"), &Options::default()).unwrap();
    assert_eq!(i.services, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Words keepalived files are made of, braces, quotes and comment marks in any order.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("virtual_server".to_owned()),
            Just("virtual_server_group".to_owned()),
            Just("real_server".to_owned()),
            Just("group".to_owned()),
            Just("fwmark".to_owned()),
            Just("HTTP_GET".to_owned()),
            Just("FILE_CHECK".to_owned()),
            Just("track_file".to_owned()),
            Just("url".to_owned()),
            Just("lvs_method".to_owned()),
            Just("TUN".to_owned()),
            Just("type".to_owned()),
            Just("gue".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("\"".to_owned()),
            Just("!".to_owned()),
            Just("$X=1".to_owned()),
            Just("${X}".to_owned()),
            Just("@x".to_owned()),
            Just("\n".to_owned()),
            Just("10.0.0.1".to_owned()),
            Just("10.0.0.1-300".to_owned()),
            Just("10.0.0.0/0".to_owned()),
            Just("80".to_owned()),
            "[ -~]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn any_text_converts_or_is_refused(words in proptest::collection::vec(word(), 0..80)) {
            let text = words.join(" ");
            match import_str(&text, "p.conf", &Options { vip_port: Some("lan".into()), config_id: "x".into(), vip_standby: false }) {
                Ok(i) => prop_assert!(i.toml.starts_with("# rvs services imported")),
                Err(r) => prop_assert!(!r.is_empty() && r.iter().all(|r| !r.reason.is_empty())),
            }
        }
    }
}

const BFD: &str = "bfd_instance rs1 {\n neighbour_ip 10.0.1.1\n source_ip 10.0.0.5\n min_rx 50\n min_tx 100.5\n idle_tx 2000\n multiplier 3\n passive\n max_hops 0\n weight 10\n}\nvirtual_server 10.0.0.100 80 {\n real_server 10.0.1.1 80 {\n  BFD_CHECK {\n   name rs1\n   alpha\n  }\n }\n}\n";

#[test]
fn bfd_instances_and_bfd_checks_convert() {
    let i = ok(BFD);
    assert!(
        i.toml.contains("# from keepalived.conf:1\n[[bfd_instance]]\nname = \"rs1\"\nneighbor_ip = \"10.0.1.1\"\nsource_ip = \"10.0.0.5\"\nmin_rx = 50\nmin_tx = 100.5\nidle_tx = 2000\nmultiplier = 3\npassive = true\nmax_hops = 0\n"),
        "{}",
        i.toml
    );
    assert!(
        i.toml.contains("[service.dest.bfd_check]\nname = \"rs1\"\nalpha = true\n"),
        "{}",
        i.toml
    );
    // weight is VRRP tracking: said, not silently dropped.
    assert!(
        i.notes.iter().any(|n| n.starts_with("keepalived.conf:10: bfd_instance rs1 weight")),
        "{:?}",
        i.notes
    );
    let r = refused("bfd_instance b {\n hoplimit 3\n frob 1\n}\nbfd_instance c {\n}\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n  BFD_CHECK { delay_loop 3 }\n }\n}\n");
    let want = [
        "keepalived.conf:2: hoplimit is for IPv6",
        "keepalived.conf:3: `frob` is not a bfd_instance keyword",
        "keepalived.conf:1: bfd_instance b has no neighbor_ip",
        "keepalived.conf:5: bfd_instance c has no neighbor_ip",
        "keepalived.conf:9: `delay_loop` is not a BFD_CHECK keyword",
    ];
    assert_eq!(r.len(), want.len(), "{r:#?}");
    for (got, want) in r.iter().zip(want) {
        assert!(got.starts_with(want), "{got} / {want}");
    }
}

#[test]
fn vip_standby_marks_every_vip_addr() {
    let text = "virtual_server 10.0.0.100 80 {\n lb_algo rr\n real_server 10.0.1.1 80 { }\n}\n";
    let opts =
        Options { vip_port: Some("lan".into()), config_id: String::new(), vip_standby: true };
    let i = import_str(text, "v.conf", &opts).unwrap();
    assert!(
        i.toml.contains(
            "[[addr]]\nport = \"lan\"\nip = \"10.0.0.100/32\"\nkind = \"vip\"\nstandby = true\n"
        ),
        "{}",
        i.toml
    );
}
