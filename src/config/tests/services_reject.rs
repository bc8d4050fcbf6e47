//! One test per rule of `[[service]]`, `[[snat]]` and `[timeouts]`: refused at the key, with
//! ipvsadm's words where rvsadm has the same rule, and the fix.

use super::services::with_services;
use crate::config::{Config, ConfigError};
use crate::ctrl::table::TableError;
use crate::ipvs::spec::SpecError;

/// Asserts that `services` (added to the test config) is refused at `key` with a message
/// containing every one of `words`.
#[track_caller]
fn rejects(services: &str, key: &str, words: &[&str]) {
    super::refused_at(&with_services(services), key, words);
}

#[track_caller]
fn accepts(services: &str) {
    if let Err(e) = Config::from_toml_str(&with_services(services)) {
        panic!("refused: {e}");
    }
}

/// A TCP service on 10.0.0.100:80 followed by `rest` (its keys, then dests).
fn svc(rest: &str) -> String {
    format!("[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n{rest}\n")
}

/// A dest section.
fn dest(keys: &str) -> String {
    format!("[[service.dest]]\n{keys}\n")
}

// ---- rules rvsadm has: the table's words, the key, the fix ----

#[test]
fn duplicate_service() {
    let text = format!(
        "{}{}[[service]]\nproto = \"udp\"\nvip = \"10.0.0.100:80\"\n{}",
        svc(""),
        "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.101:80\"\n",
        svc("scheduler = \"rr\"")
    );
    let exists = TableError::ServiceExists.to_string();
    rejects(
        &text,
        "service[3]",
        &[&exists, "service[0] is also tcp 10.0.0.100:80", "one [[service]]"],
    );
}

#[test]
fn duplicate_dest() {
    // The port left out is the VIP's, so these are the same real server.
    let text = svc(&format!(
        "{}{}{}",
        dest("addr = \"10.0.0.12\""),
        dest("addr = \"10.0.0.13\""),
        dest("addr = \"10.0.0.12:80\"\nweight = 5")
    ));
    let exists = TableError::DestExists.to_string();
    rejects(&text, "service[0].dest[2].addr", &[&exists, "dest[0]", "10.0.0.12:80", "once"]);
}

#[test]
fn duplicate_local_address() {
    let text = svc(&format!(
        "laddrs = [\"10.1.0.11\", \"10.1.0.12\", \"10.1.0.11\"]\n{}",
        dest("addr = \"10.0.0.12\"\nfwd = \"fullnat\"")
    ));
    let exists = TableError::LocalAddrExists.to_string();
    rejects(&text, "service[0].laddrs[2]", &[&exists, "10.1.0.11", "once"]);
}

#[test]
fn weight_and_thresholds() {
    let illegal = SpecError::WeightRange(70_000).to_string();
    rejects(
        &svc(&dest("addr = \"10.0.0.12\"\nweight = 70000")),
        "service[0].dest[0].weight",
        &[&illegal, "0 to 65535"],
    );
    accepts(&svc(&dest("addr = \"10.0.0.12\"\nweight = 65535")));
    accepts(&svc(&dest("addr = \"10.0.0.12\"\nweight = 0")));
    rejects(
        &svc(&dest("addr = \"10.0.0.12\"\nupper = 2147483648")),
        "service[0].dest[0].upper",
        &["illegal u_threshold specified", "2147483647"],
    );
    rejects(
        &svc(&dest("addr = \"10.0.0.12\"\nupper = 10\nlower = 2147483648")),
        "service[0].dest[0].lower",
        &["illegal l_threshold specified"],
    );
    let order = SpecError::ThresholdOrder.to_string();
    rejects(
        &svc(&dest("addr = \"10.0.0.12\"\nupper = 10\nlower = 11")),
        "service[0].dest[0].lower",
        &[&order, "at most upper"],
    );
    accepts(&svc(&dest("addr = \"10.0.0.12\"\nupper = 10\nlower = 10")));
}

#[test]
fn zero_port_needs_persistence() {
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:0\"\n";
    rejects(
        text,
        "service[0].vip",
        &["Zero port specified for non-persistent service", "persistence = 300"],
    );
    accepts(&format!("{text}persistence = 60\n"));
}

#[test]
fn one_packet_only_for_udp() {
    rejects(
        &svc("one_packet = true"),
        "service[0].one_packet",
        &["One-Packet Scheduling is only for UDP virtual services", "proto = \"udp\""],
    );
    accepts("[[service]]\nproto = \"udp\"\nvip = \"10.0.0.100:53\"\none_packet = true\n");
}

#[test]
fn scheduler_and_flags() {
    rejects(
        &svc("scheduler = \"fancy\""),
        "service[0].scheduler",
        &["Scheduler or persistence engine not found", "rr, wrr, lc, wlc"],
    );
    rejects(
        &svc("scheduler = \"rr\"\nflags = [\"flag-1\", \"sh-port\"]"),
        "service[0].flags[1]",
        &["incompatible scheduler flag `sh-port'", "scheduler = \"sh\""],
    );
    rejects(
        &svc("scheduler = \"sh\"\nflags = [\"sh-prot\"]"),
        "service[0].flags[0]",
        &["invalid scheduler flag `sh-prot'", "sh-port"],
    );
    rejects(
        &svc("scheduler = \"sh\"\nflags = [\"sh-port,sh-fallback\"]"),
        "service[0].flags[0]",
        &["one flag per string"],
    );
    rejects(&svc("flags = [\"\"]"), "service[0].flags[0]", &["invalid scheduler flag"]);
    accepts(&svc("scheduler = \"sh\"\nflags = [\"sh-port\", \"sh-fallback\", \"flag-3\"]"));
}

#[test]
fn persistence_range() {
    for p in [0u64, 2_678_401] {
        rejects(
            &svc(&format!("persistence = {p}")),
            "service[0].persistence",
            &[&format!("invalid timeout value `{p}' specified"), "1 to 2678400"],
        );
    }
    accepts(&svc("persistence = 2678400"));
}

#[test]
fn real_server_of_another_family_only_by_tunnel() {
    rejects(
        &svc(&dest("addr = \"2001:db8::1\"")),
        "service[0].dest[0].addr",
        &["Different address family is allowed only for tunneling servers", "fwd = \"tun\""],
    );
    accepts(&svc(&dest("addr = \"2001:db8::1\"\nfwd = \"tun\"")));
    accepts(&svc(&dest("addr = \"[2001:db8::1]:80\"\nfwd = \"tun\"")));
}

// ---- rules only the config has ----

#[test]
fn vip_must_be_an_addr_of_kind_vip() {
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.200:80\"\n";
    rejects(
        text,
        "service[0].vip",
        &[
            "10.0.0.200 is not an address of this director",
            "[[addr]] port = \"lan0\" ip = \"10.0.0.200/32\" kind = \"vip\"",
        ],
    );
    // Off every connected network: the fix names the first port.
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"172.16.0.1:80\"\n";
    rejects(
        text,
        "service[0].vip",
        &["[[addr]] port = \"lan0\" ip = \"172.16.0.1/32\" kind = \"vip\""],
    );
    // On wan0's network: the fix names wan0.
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.1.0.77:80\"\n";
    rejects(text, "service[0].vip", &["port = \"wan0\""]);
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.1:80\"\n";
    rejects(
        text,
        "service[0].vip",
        &["addr[0], of kind \"host\"", "the VIP must be an [[addr]] of kind \"vip\""],
    );
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.1.0.11:80\"\n";
    rejects(text, "service[0].vip", &["of kind \"local\""]);
}

#[test]
fn vip_text() {
    let with = |vip: &str| format!("[[service]]\nproto = \"tcp\"\nvip = \"{vip}\"\n");
    rejects(
        &with("10.0.0.100"),
        "service[0].vip",
        &["has no port", "\"10.0.0.100:80\"", "\"10.0.0.100:0\""],
    );
    rejects(&with("[2001:db8::1]:80"), "service[0].vip", &["IPv6", "a.b.c.d:port"]);
    rejects(&with("web:80"), "service[0].vip", &["not address:port"]);
    rejects(&with("10.0.0.100:99999"), "service[0].vip", &["not address:port"]);
    rejects("[[service]]\nproto = \"tcp\"\n", "service[0].vip", &["missing", "vip = "]);
}

#[test]
fn proto() {
    let with = |p: &str| format!("[[service]]\nproto = \"{p}\"\nvip = \"10.0.0.100:80\"\n");
    rejects(
        &with("sctp"),
        "service[0].proto",
        &["SCTP services are not supported by rvs", "\"tcp\" or \"udp\""],
    );
    rejects(&with("TCP"), "service[0].proto", &["`TCP` is not a protocol", "\"tcp\""]);
    rejects(
        "[[service]]\nvip = \"10.0.0.100:80\"\n",
        "service[0].proto",
        &["missing", "proto = \"tcp\""],
    );
}

#[test]
fn fwmark_is_not_expressible() {
    let text = "[[service]]\nfwmark = 1\n";
    rejects(
        text,
        "service[0].fwmark",
        &["fwmark services are not supported", "DPDK has no netfilter marks", "remove fwmark"],
    );
}

#[test]
fn local_addresses_must_be_addrs_of_kind_local() {
    let fullnat = dest("addr = \"10.0.0.12\"\nfwd = \"fullnat\"");
    rejects(
        &svc(&format!("laddrs = [\"10.1.0.99\"]\n{fullnat}")),
        "service[0].laddrs[0]",
        &[
            "10.1.0.99 is not an address of this director",
            "[[addr]] port = \"wan0\" ip = \"10.1.0.99/32\" kind = \"local\"",
        ],
    );
    rejects(
        &svc(&format!("laddrs = [\"10.0.0.101\"]\n{fullnat}")),
        "service[0].laddrs[0]",
        &["of kind \"vip\"", "kind \"local\""],
    );
    rejects(
        &svc(&format!("laddrs = [\"10.1.0.11/32\"]\n{fullnat}")),
        "service[0].laddrs[0]",
        &["not an IPv4 address", "without port or length"],
    );
}

#[test]
fn fullnat_and_local_addresses_go_together() {
    rejects(
        &svc(&dest("addr = \"10.0.0.12\"\nfwd = \"fullnat\"")),
        "service[0].dest[0].fwd",
        &["service[0] has none", "laddrs = [\"10.1.0.11\"]"],
    );
    rejects(
        &svc(&format!("laddrs = [\"10.1.0.11\"]\n{}", dest("addr = \"10.0.0.12\""))),
        "service[0].laddrs",
        &["only by fwd = \"fullnat\" dests", "remove laddrs"],
    );
    // Local addresses before any real server: dests come later, over the control socket.
    accepts(&svc("laddrs = [\"10.1.0.11\"]"));
}

#[test]
fn toa_only_with_fullnat_tcp() {
    let fullnat = dest("addr = \"10.0.0.12:8080\"\nfwd = \"fullnat\"");
    accepts(&svc(&format!("laddrs = [\"10.1.0.11\"]\ntoa = true\n{fullnat}")));
    rejects(
        &svc(&format!(
            "laddrs = [\"10.1.0.11\"]\ntoa = true\n{fullnat}{}",
            dest("addr = \"10.0.0.13\"\nfwd = \"nat\"")
        )),
        "service[0].dest[1].fwd",
        &["toa = true", "set fwd = \"fullnat\" or remove toa"],
    );
    rejects(
        "[[service]]\nproto = \"udp\"\nvip = \"10.0.0.100:53\"\ntoa = true\n",
        "service[0].toa",
        &["TCP option", "remove toa"],
    );
}

#[test]
fn dr_and_tun_keep_the_vip_port() {
    for fwd in ["dr", "tun"] {
        rejects(
            &svc(&dest(&format!("addr = \"10.0.0.12:8080\"\nfwd = \"{fwd}\""))),
            "service[0].dest[0].addr",
            &[
                &format!("fwd = \"{fwd}\" does not change the port"),
                "VIP's port 80",
                "\"10.0.0.12:80\" or leave the port out",
            ],
        );
        accepts(&svc(&dest(&format!("addr = \"10.0.0.12:80\"\nfwd = \"{fwd}\""))));
    }
    let all = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:0\"\npersistence = 60\n";
    rejects(
        &format!("{all}{}", dest("addr = \"10.0.0.12:80\"")),
        "service[0].dest[0].addr",
        &["every port", "leave the port out"],
    );
    accepts(&format!("{all}{}", dest("addr = \"10.0.0.12\"")));
    // NAT and FULLNAT may change it, but not to 0.
    accepts(&svc(&dest("addr = \"10.0.0.12:8080\"\nfwd = \"nat\"")));
    rejects(
        &svc(&dest("addr = \"10.0.0.12:0\"\nfwd = \"nat\"")),
        "service[0].dest[0].addr",
        &["port 0 is not a real server's port", "VIP's port 80"],
    );
}

#[test]
fn forwarding_method_names() {
    for (alias, ok) in [
        ("route", true),
        ("gatewaying", true),
        ("masq", true),
        ("masquerading", true),
        ("ipip", true),
        ("tunnel", true),
        ("DR", false),
    ] {
        let text = svc(&dest(&format!("addr = \"10.0.0.12\"\nfwd = \"{alias}\"")));
        if ok {
            accepts(&text);
        } else {
            rejects(
                &text,
                "service[0].dest[0].fwd",
                &["`DR` is not a forwarding method", "\"fullnat\""],
            );
        }
    }
    rejects(
        &svc(&dest("addr = \"10.0.0.12\"\nfwd = \"snat\"")),
        "service[0].dest[0].fwd",
        &["[[snat]]"],
    );
    rejects(
        &svc(&dest("addr = \"rs1\"")),
        "service[0].dest[0].addr",
        &["not a real server address", "a.b.c.d:port"],
    );
}

#[test]
fn tunnel_keys_only_with_tun() {
    for (k, v) in [("tun_type", "\"ipip\""), ("tun_port", "6080"), ("tun_csum", "\"csum\"")] {
        rejects(
            &svc(&dest(&format!("addr = \"10.0.0.12\"\nfwd = \"nat\"\n{k} = {v}"))),
            &format!("service[0].dest[0].{k}"),
            &["Tunnel options conflict with forward method", "applies only to fwd = \"tun\""],
        );
    }
}

#[test]
fn tunnel_types_and_their_keys() {
    let tun = |keys: &str| svc(&dest(&format!("addr = \"10.0.0.12\"\nfwd = \"tun\"\n{keys}")));
    rejects(
        &tun("tun_type = \"gre\""),
        "service[0].dest[0].tun_type",
        &["GRE tunnels are not supported by rvs", "\"ipip\" or \"gue\""],
    );
    rejects(
        &tun("tun_type = \"vxlan\""),
        "service[0].dest[0].tun_type",
        &["`vxlan` is not a tunnel type"],
    );
    rejects(
        &tun("tun_type = \"gue\""),
        "service[0].dest[0].tun_port",
        &["needs the real server's GUE port", "tun_port = 6080"],
    );
    rejects(
        &tun("tun_type = \"gue\"\ntun_port = 0"),
        "service[0].dest[0].tun_port",
        &["illegal tunnel port specified", "1 to 65535"],
    );
    rejects(
        &tun("tun_port = 6080"),
        "service[0].dest[0].tun_port",
        &["ipip tunnel has no port", "tun_type = \"gue\""],
    );
    rejects(
        &tun("tun_csum = \"csum\""),
        "service[0].dest[0].tun_csum",
        &["ipip tunnel has no checksum"],
    );
    rejects(
        &tun("tun_type = \"gue\"\ntun_port = 6080\ntun_csum = \"yes\""),
        "service[0].dest[0].tun_csum",
        &["`yes` is not a checksum mode", "\"remcsum\""],
    );
    accepts(&tun(""));
    accepts(&tun("tun_type = \"ipip\""));
    accepts(&tun("tun_type = \"gue\"\ntun_port = 6080"));
}

#[test]
fn netmask_with_persistence_only() {
    rejects(
        &svc("netmask = \"255.255.255.0\""),
        "service[0].netmask",
        &["not persistent", "add persistence"],
    );
    rejects(
        &svc("persistence = 60\nnetmask = \"/24\""),
        "service[0].netmask",
        &["illegal virtual server persistent mask specified", "255.255.255.0"],
    );
    accepts(&svc("persistence = 60\nnetmask = \"255.255.0.0\""));
}

#[test]
fn timeouts_range() {
    rejects(
        "[timeouts]\ntcpfin = 2678401\n",
        "timeouts.tcpfin",
        &["invalid timeout value `2678401' specified", "0 for the default"],
    );
    accepts("[timeouts]\ntcp = 2678400\ntcpfin = 1\n");
}

#[test]
fn snat_rules() {
    let snat = |keys: &str| format!("[[snat]]\n{keys}\n");
    accepts(&snat("src = \"10.0.0.0/24\"\nout = \"10.1.0.11\""));
    rejects(
        &snat("src = \"10.0.0.0/24\"\nout = \"10.0.0.101\""),
        "snat[0].out",
        &["addr[3], of kind \"vip\"", "the SNAT source must be an [[addr]] of kind \"local\""],
    );
    rejects(
        &snat("src = \"10.0.0.0/24\"\nout = \"198.51.100.1\""),
        "snat[0].out",
        &["[[addr]] port = \"lan0\" ip = \"198.51.100.1/32\" kind = \"local\""],
    );
    rejects(
        &snat("src = \"10.0.0.0/24\"\nout = \"10.1.0.11:1\""),
        "snat[0].out",
        &["not an IPv4 address"],
    );
    rejects(
        &snat("src = \"10.0.0.1/24\"\nout = \"10.1.0.11\""),
        "snat[0].src",
        &["host bits", "10.0.0.0/24"],
    );
    rejects(
        &snat("src = \"inside\"\nout = \"10.1.0.11\""),
        "snat[0].src",
        &["a.b.c.d/len, a.b.c.d or first-last"],
    );
    rejects(
        &snat("src = \"10.0.0.0/24\"\ndst = \"10.9.0.9-10.9.0.1\"\nout = \"10.1.0.11\""),
        "snat[0].dst",
        &["low-high"],
    );
    rejects(
        &snat("src = \"10.0.0.0/24\"\nproto = \"sctp\"\nout = \"10.1.0.11\""),
        "snat[0].proto",
        &["\"tcp\", \"udp\", \"icmp\" or \"any\""],
    );
    let twice = format!(
        "{}{}",
        snat("src = \"10.0.0.0/24\"\nproto = \"tcp\"\nout = \"10.1.0.11\""),
        snat("src = \"10.0.0.0-10.0.0.255\"\nproto = \"tcp\"\ndst = \"0.0.0.0/0\"\nout = \"10.1.0.12\"")
    );
    rejects(&twice, "snat[1]", &["same traffic as snat[0]", "remove one"]);
}

#[test]
fn unknown_service_key_is_a_syntax_error_with_its_line() {
    let text = with_services(&svc("sched = \"rr\""));
    match Config::from_toml_str(&text) {
        Err(ConfigError::Syntax { message, line, .. }) => {
            assert!(message.contains("unknown field `sched`"), "{message}");
            let want = text.lines().position(|l| l.starts_with("sched")).unwrap() + 1;
            assert_eq!(line, want);
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn synproxy_only_with_tcp_and_nat_or_fullnat() {
    let fullnat = dest("addr = \"10.0.0.12:8080\"\nfwd = \"fullnat\"");
    let nat = dest("addr = \"10.0.0.13\"\nfwd = \"nat\"");
    accepts(&svc(&format!("laddrs = [\"10.1.0.11\"]\nsynproxy = true\n{fullnat}{nat}")));
    rejects(
        &svc(&format!("synproxy = true\n{nat}{}", dest("addr = \"10.0.0.14\"\nfwd = \"dr\""))),
        "service[0].dest[1].fwd",
        &["synproxy = true", "set fwd = \"nat\" or \"fullnat\""],
    );
    rejects(
        "[[service]]\nproto = \"udp\"\nvip = \"10.0.0.100:53\"\nsynproxy = true\n",
        "service[0].synproxy",
        &["TCP handshakes", "remove synproxy"],
    );
}

#[test]
fn service_limits_refusals_name_the_key_and_the_fix() {
    let lim = |keys: &str| svc(&format!("[service.limits]\n{keys}\n"));
    accepts(&lim("conn_limit = 3\nallow = [\"10.0.0.0/8\"]"));
    rejects(
        &lim("deny = [\"10.0.0.0/8\", \"10.1.2.3/16\"]"),
        "service[0].limits.deny[1]",
        &["host bits", "write 10.1.0.0/16"],
    );
    rejects(&lim("allow = [\"10.0.0.0/40\"]"), "service[0].limits.allow[0]", &["a.b.c.d/len"]);
    rejects(&lim("source_burst = 4"), "service[0].limits.source_burst", &["add source_rate"]);
    rejects(&lim("source_rate = 2000000"), "service[0].limits.source_rate", &["1 to 1000000"]);
    match Config::from_toml_str(&with_services(&lim("conn_limits = 3"))) {
        Err(ConfigError::Syntax { message, .. }) => {
            assert!(message.contains("unknown field `conn_limits`"), "{message}")
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}
