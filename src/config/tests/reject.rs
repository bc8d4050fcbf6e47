//! One test per rule: a valid config broken in one place must be refused, naming the key.

use super::{patch, BASE};
use crate::config::{Config, ConfigError};

/// Asserts that `text` is refused at `key` with a message containing every one of `words`.
#[track_caller]
fn rejects(text: &str, key: &str, words: &[&str]) {
    super::refused_at(text, key, words);
}

#[track_caller]
fn accepts(text: &str) -> Config {
    Config::from_toml_str(text).unwrap_or_else(|e| panic!("refused: {e}"))
}

/// Asserts a syntax/schema error at `line` whose message contains `word`.
#[track_caller]
fn syntax(text: &str, line: usize, word: &str) {
    match Config::from_toml_str(text) {
        Err(ConfigError::Syntax { line: l, message, path, .. }) => {
            assert_eq!(l, line, "wrong line; message: {message}");
            assert!(message.contains(word), "message lacks `{word}`: {message}");
            assert_eq!(path.to_str(), Some("<inline>"));
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

// ---- unknown keys and malformed TOML ----

#[test]
fn unknown_key_in_port_names_it_and_its_line() {
    let text = patch("rx_queues = 2\ntx_queues = 2", "rx_queues = 2\nrx_queue = 2\ntx_queues = 2");
    syntax(&text, line_of(&text, "rx_queue = 2"), "unknown field `rx_queue`");
    let msg = Config::from_toml_str(&text).unwrap_err().to_string();
    assert!(msg.starts_with(&format!("<inline>:{}:1: ", line_of(&text, "rx_queue = 2"))), "{msg}");
}

#[test]
fn unknown_section_and_inline_key() {
    let text = format!("{BASE}\n[tuning]\nfoo = 1\n");
    syntax(&text, line_of(&text, "[tuning]"), "unknown field `tuning`");
    let text = patch("{ port = \"lan0\", queue = 1 }", "{ port = \"lan0\", queue = 1, core = 3 }");
    syntax(&text, line_of(&text, "core = 3"), "unknown field `core`");
    let text = patch("max_entries = 1024", "max_entries = 1024\ngc_interval = 5");
    syntax(&text, line_of(&text, "gc_interval"), "unknown field `gc_interval`");
}

#[test]
fn wrong_types_and_bad_toml_give_a_line() {
    let text = patch("rx_desc = 512\ntx_desc = 512\nmtu", "rx_desc = \"512\"\ntx_desc = 512\nmtu");
    syntax(&text, line_of(&text, "\"512\""), "u16");
    let text = patch("burst = 32", "burst = ");
    syntax(&text, line_of(&text, "burst ="), "");
    let text = patch("kind = \"vip\"", "kind = \"service\"");
    syntax(&text, line_of(&text, "\"service\""), "unknown variant `service`");
    let text = patch("name = \"wan0\"\n", "");
    syntax(&text, line_of(&text, "device = \"net_null1\"") - 1, "missing field `name`");
}

// ---- ports ----

#[test]
fn duplicate_port_name() {
    rejects(
        &patch("name = \"wan0\"", "name = \"lan0\""),
        "port[1].name",
        &["already used by port[0]"],
    );
}

#[test]
fn bad_port_name() {
    rejects(&patch("name = \"wan0\"", "name = \"wan 0\""), "port[1].name", &["letters"]);
}

#[test]
fn no_ports() {
    let text = r#"
[eal]
vdevs = ["net_null0"]
"#;
    rejects(text, "port", &["[[port]]"]);
}

#[test]
fn unknown_device() {
    rejects(
        &patch("device = \"net_null1\"", "device = \"net_null7\""),
        "port[1].device",
        &["net_null0, net_null1", "eal.vdevs"],
    );
}

#[test]
fn two_ports_on_one_device() {
    rejects(
        &patch("device = \"net_null1\"", "device = \"net_null0\""),
        "port[1].device",
        &["already port[0]"],
    );
}

#[test]
fn pci_device_with_no_pci() {
    rejects(
        &patch("device = \"net_null1\"", "device = \"0000:3b:00.1\""),
        "port[1].device",
        &["no_pci = true"],
    );
}

#[test]
fn pci_device_not_in_allow_list() {
    let text = patch("no_pci = true", "no_pci = false\nallow = [\"0000:3b:00.0\"]");
    let text = text.replacen("device = \"net_null1\"", "device = \"3b:00.1\"", 1);
    rejects(&text, "port[1].device", &["eal.allow", "0000:3b:00.1"]);
    // Short form resolves to the full name.
    let text = text.replacen(
        "[\"0000:3b:00.0\"]",
        "[\"0000:3b:00.0\", \"0000:3b:00.1,txq_inline=128\"]",
        1,
    );
    let c = accepts(&text);
    assert_eq!(c.ports()[1].device.name(), "0000:3b:00.1");
}

#[test]
fn rx_queues_zero() {
    rejects(
        &patch("rx_queues = 2\ntx_queues = 2", "rx_queues = 0\ntx_queues = 2"),
        "port[0].rx_queues",
        &["1 to 1024"],
    );
}

#[test]
fn fewer_tx_queues_than_workers() {
    rejects(
        &patch("tx_queues = 2", "tx_queues = 1"),
        "port[0].tx_queues",
        &["1 tx queues for 2 workers", "worker[i] uses queue i", "tx_queues = 2"],
    );
}

#[test]
fn descriptors_out_of_range() {
    rejects(
        &patch("rx_queues = 2\nrx_desc = 512", "rx_queues = 2\nrx_desc = 0"),
        "port[1].rx_desc",
        &["32 to 32768"],
    );
    rejects(
        &patch(
            "rx_desc = 512\ntx_desc = 512\n\n[[addr]]",
            "rx_desc = 512\ntx_desc = 40000\n\n[[addr]]",
        ),
        "port[1].tx_desc",
        &["32 to 32768"],
    );
}

#[test]
fn mtu_out_of_range() {
    rejects(&patch("mtu = 1500", "mtu = 67"), "port[0].mtu", &["68", "9216"]);
    rejects(&patch("mtu = 1500", "mtu = 9217"), "port[0].mtu", &["68", "9216"]);
    assert_eq!(accepts(&patch("mtu = 1500", "mtu = 9216")).ports()[0].mtu, 9216);
    assert_eq!(accepts(&patch("mtu = 1500", "mtu = 68")).ports()[0].mtu, 68);
}

#[test]
fn malformed_or_group_port_mac() {
    rejects(
        &patch("mtu = 1500", "mtu = 1500\nmac = \"02:00:00:00:01\""),
        "port[0].mac",
        &["six hex bytes"],
    );
    rejects(
        &patch("mtu = 1500", "mtu = 1500\nmac = \"01:00:5e:00:00:01\""),
        "port[0].mac",
        &["unicast"],
    );
    let c = accepts(&patch("mtu = 1500", "mtu = 1500\nmac = \"02:AB:00:00:00:01\""));
    assert_eq!(c.ports()[0].mac, Some([2, 0xab, 0, 0, 0, 1]));
}

// ---- references to ports ----

#[test]
fn addr_on_missing_port() {
    rejects(
        &patch(
            "port = \"lan0\"\nip = \"10.0.0.100/32\"",
            "port = \"lan9\"\nip = \"10.0.0.100/32\"",
        ),
        "addr[2].port",
        &["no [[port]] named `lan9`", "lan0, wan0"],
    );
}

#[test]
fn route_on_missing_port() {
    rejects(
        &patch("via = \"10.1.0.254\"\nport = \"wan0\"", "via = \"10.1.0.254\"\nport = \"wan1\""),
        "route[0].port",
        &["`wan1`"],
    );
}

#[test]
fn static_neigh_on_missing_port() {
    rejects(
        &patch(
            "mac = \"52:54:00:00:00:02\"\nport = \"lan0\"",
            "mac = \"52:54:00:00:00:02\"\nport = \"lan1\"",
        ),
        "neigh.static[0].port",
        &["`lan1`"],
    );
}

#[test]
fn worker_rx_on_missing_port() {
    rejects(
        &patch("{ port = \"wan0\", queue = 1 }", "{ port = \"wan1\", queue = 1 }"),
        "worker[1].rx[1].port",
        &["`wan1`"],
    );
}

// ---- workers and queues ----

#[test]
fn rx_queue_beyond_port_queues() {
    rejects(
        &patch("{ port = \"wan0\", queue = 1 }", "{ port = \"wan0\", queue = 2 }"),
        "worker[1].rx[1]",
        &["2 rx queue(s), numbered 0 to 1", "port[1].rx_queues"],
    );
}

#[test]
fn rx_queue_served_by_two_workers() {
    rejects(
        &patch("{ port = \"lan0\", queue = 1 }", "{ port = \"lan0\", queue = 0 }"),
        "worker[1].rx[0]",
        &["already polled by worker[0]", "exactly one owner"],
    );
}

#[test]
fn rx_queue_listed_twice_by_one_worker() {
    rejects(
        &patch("{ port = \"wan0\", queue = 0 }", "{ port = \"lan0\", queue = 0 }"),
        "worker[0].rx[1]",
        &["already rx[0]"],
    );
}

#[test]
fn rx_queue_served_by_no_worker() {
    let text = patch(
        "{ port = \"lan0\", queue = 1 }, { port = \"wan0\", queue = 1 }",
        "{ port = \"lan0\", queue = 1 }",
    );
    rejects(
        &text,
        "port[1].rx_queues",
        &["queue 1 of port `wan0` is polled by no worker", "{ port = \"wan0\", queue = 1 }"],
    );
}

#[test]
fn worker_without_rx() {
    let text =
        patch("rx = [{ port = \"lan0\", queue = 1 }, { port = \"wan0\", queue = 1 }]", "rx = []");
    rejects(&text, "worker[1].rx", &["polls no rx queue"]);
    let text = patch(
        "lcore = 2\nrx = [{ port = \"lan0\", queue = 1 }, { port = \"wan0\", queue = 1 }]",
        "lcore = 2",
    );
    rejects(&text, "worker[1].rx", &["polls no rx queue"]);
}

#[test]
fn two_workers_on_one_lcore() {
    rejects(&patch("lcore = 2", "lcore = 1"), "worker[1].lcore", &["already worker[0]"]);
}

#[test]
fn worker_on_main_lcore() {
    rejects(&patch("lcore = 1", "lcore = 0"), "worker[0].lcore", &["eal.main_lcore"]);
}

#[test]
fn lcore_out_of_range() {
    rejects(&patch("lcore = 2", "lcore = 128"), "worker[1].lcore", &["0 to 127"]);
    rejects(&patch("main_lcore = 0", "main_lcore = 200"), "eal.main_lcore", &["0 to 127"]);
}

#[test]
fn busy_polling_workers_on_one_cpu() {
    let text = patch("lcore = 2", "lcore = 2\ncpu = 1");
    rejects(&text, "worker[1].cpu", &["already runs worker[0]", "idle_backoff"]);
    // With idle backoff, sharing a CPU is allowed (small test machines).
    let text = text.replacen(
        "mbuf_cache = 256",
        "mbuf_cache = 256\nidle_backoff = { empty_polls = 8, sleep_us = 50 }",
        1,
    );
    let c = accepts(&text);
    assert_eq!(c.workers()[1].cpu, 1);
    assert_eq!(c.eal_args()[1], "0@0,1@1,2@1");
}

#[test]
fn no_workers() {
    let text = r#"
[eal]
vdevs = ["net_null0"]
[[port]]
name = "p"
device = "net_null0"
"#;
    rejects(text, "worker", &["[[worker]]"]);
}

// ---- addresses ----

#[test]
fn same_ip_twice() {
    rejects(
        &patch("ip = \"10.0.0.100/32\"", "ip = \"10.0.0.1/32\""),
        "addr[2].ip",
        &["already addr[0]"],
    );
}

#[test]
fn host_prefixes_of_two_ports_overlap() {
    rejects(
        &patch("ip = \"10.1.0.1/24\"", "ip = \"10.0.1.1/16\""),
        "addr[1].ip",
        &["overlaps addr[0]", "10.0.0.1/24", "`lan0`", "disjoint"],
    );
}

#[test]
fn host_prefixes_on_one_port_may_overlap() {
    let text =
        patch("ip = \"10.0.0.100/32\"\nkind = \"vip\"", "ip = \"10.0.0.3/24\"\nkind = \"host\"");
    assert_eq!(accepts(&text).addrs()[2].prefix_len, 24);
}

#[test]
fn vip_and_local_must_be_slash_32() {
    rejects(
        &patch("ip = \"10.0.0.100/32\"", "ip = \"10.0.0.100/24\""),
        "addr[2].ip",
        &["write 10.0.0.100/32", "vip"],
    );
    let text =
        patch("ip = \"10.0.0.100/32\"\nkind = \"vip\"", "ip = \"10.0.0.100/31\"\nkind = \"local\"");
    rejects(&text, "addr[2].ip", &["/32", "local"]);
}

#[test]
fn host_address_that_is_a_network_or_broadcast() {
    rejects(
        &patch("ip = \"10.0.0.1/24\"", "ip = \"10.0.0.0/24\""),
        "addr[0].ip",
        &["network or broadcast", "10.0.0.0/24"],
    );
    rejects(
        &patch("ip = \"10.0.0.1/24\"", "ip = \"10.0.0.255/24\""),
        "addr[0].ip",
        &["network or broadcast"],
    );
    rejects(
        &patch("ip = \"10.0.0.1/24\"", "ip = \"10.0.0.1/0\""),
        "addr[0].ip",
        &["every address"],
    );
}

#[test]
fn unusable_addresses() {
    rejects(
        &patch("ip = \"10.0.0.100/32\"", "ip = \"224.0.0.1/32\""),
        "addr[2].ip",
        &["multicast"],
    );
    rejects(&patch("ip = \"10.0.0.100/32\"", "ip = \"127.0.0.1/32\""), "addr[2].ip", &["loopback"]);
    rejects(
        &patch("ip = \"10.0.0.100/32\"", "ip = \"0.0.0.0/32\""),
        "addr[2].ip",
        &["unspecified"],
    );
}

#[test]
fn malformed_ip_and_prefix() {
    rejects(
        &patch("ip = \"10.0.0.1/24\"", "ip = \"10.0.0.1\""),
        "addr[0].ip",
        &["no prefix length"],
    );
    rejects(
        &patch("ip = \"10.0.0.1/24\"", "ip = \"10.0.0/24\""),
        "addr[0].ip",
        &["not an IPv4 address"],
    );
    rejects(&patch("ip = \"10.0.0.1/24\"", "ip = \"10.0.0.1/33\""), "addr[0].ip", &["0 to 32"]);
    rejects(
        &patch("ip = \"10.0.0.2\"", "ip = \"10.0.0.x\""),
        "neigh.static[0].ip",
        &["not an IPv4 address"],
    );
}

// ---- routes ----

#[test]
fn next_hop_outside_connected_networks() {
    rejects(
        &patch("via = \"10.1.0.254\"", "via = \"192.168.5.1\""),
        "route[0].via",
        &["not inside any connected network of port `wan0`", "kind = \"host\""],
    );
}

#[test]
fn next_hop_on_another_port() {
    rejects(
        &patch("via = \"10.1.0.254\"", "via = \"10.0.0.254\""),
        "route[0].via",
        &["port `lan0`", "port = \"lan0\""],
    );
}

#[test]
fn next_hop_is_own_address() {
    rejects(&patch("via = \"10.1.0.254\"", "via = \"10.1.0.1\""), "route[0].via", &["own address"]);
}

#[test]
fn next_hop_inside_a_vip_only_is_off_link() {
    // A /32 vip does not make anything connected.
    let text = patch("ip = \"10.0.0.100/32\"", "ip = \"172.16.0.1/32\"");
    let text = text.replacen(
        "via = \"10.1.0.254\"\nport = \"wan0\"",
        "via = \"172.16.0.1\"\nport = \"lan0\"",
        1,
    );
    rejects(&text, "route[0].via", &["own address"]);
}

#[test]
fn route_destination_forms() {
    rejects(
        &patch("dst = \"default\"", "dst = \"10.2.0.1/16\""),
        "route[0].dst",
        &["host bits", "10.2.0.0/16"],
    );
    rejects(
        &patch("dst = \"default\"", "dst = \"10.2.0.0\""),
        "route[0].dst",
        &["prefix length", "default"],
    );
    let c = accepts(&patch("dst = \"default\"", "dst = \"0.0.0.0/0\""));
    assert_eq!(c.routes()[0].dst.prefix_len(), 0);
    let c = accepts(&patch("dst = \"default\"", "dst = \"10.9.0.0/16\""));
    assert_eq!(c.routes()[0].dst.to_string(), "10.9.0.0/16");
}

#[test]
fn duplicate_route() {
    let extra = "\n[[route]]\ndst = \"0.0.0.0/0\"\nvia = \"10.0.0.254\"\nport = \"lan0\"\n";
    let text = patch("[[worker]]\nlcore = 1", &format!("{extra}\n[[worker]]\nlcore = 1"));
    rejects(&text, "route[1].dst", &["route[0] already goes to 0.0.0.0/0", "metric"]);
    let text = text.replacen(
        "port = \"lan0\"\n\n[[worker]]",
        "port = \"lan0\"\nmetric = 5\n\n[[worker]]",
        1,
    );
    let c = accepts(&text);
    assert_eq!(c.routes()[1].metric, 5);
    assert_eq!(c.routes()[1].port, 0);
}

// ---- static neighbours ----

#[test]
fn static_neigh_off_link_and_bad_mac() {
    rejects(
        &patch("ip = \"10.0.0.2\"", "ip = \"10.1.0.2\""),
        "neigh.static[0].ip",
        &["port `wan0`"],
    );
    rejects(
        &patch("mac = \"52:54:00:00:00:02\"", "mac = \"52:54:00:00:00\""),
        "neigh.static[0].mac",
        &["six hex bytes"],
    );
    rejects(
        &patch("mac = \"52:54:00:00:00:02\"", "mac = \"ff:ff:ff:ff:ff:ff\""),
        "neigh.static[0].mac",
        &["unicast"],
    );
}

#[test]
fn duplicate_static_neigh_and_capacity() {
    let extra =
        "\n[[neigh.static]]\nip = \"10.0.0.2\"\nmac = \"52:54:00:00:00:03\"\nport = \"lan0\"\n";
    let text = patch("[ctrl]", &format!("{extra}\n[ctrl]"));
    rejects(&text, "neigh.static[1].ip", &["already neigh.static[0]"]);
    let text = text.replacen(
        "ip = \"10.0.0.2\"\nmac = \"52:54:00:00:00:03\"",
        "ip = \"10.0.0.3\"\nmac = \"52:54:00:00:00:03\"",
        1,
    );
    assert_eq!(accepts(&text).static_neighs().len(), 2);
    let text = text.replacen("max_entries = 1024", "max_entries = 1", 1);
    rejects(&text, "neigh.max_entries", &["2 [[neigh.static]]"]);
}

// ---- dataplane, neigh, ctrl, metrics ----

#[test]
fn burst_zero_or_oversized() {
    rejects(&patch("burst = 32", "burst = 0"), "dataplane.burst", &["1 to 32"]);
    rejects(&patch("burst = 32", "burst = 33"), "dataplane.burst", &["1 to 32"]);
    assert_eq!(accepts(&patch("burst = 32", "burst = 16")).dataplane().burst, 16);
}

#[test]
fn too_few_mbufs() {
    rejects(
        &patch("mbuf_cache = 256", "mbuf_cache = 256\nmbufs = 4095"),
        "dataplane.mbufs",
        &["4095", "6400", "8191"],
    );
}

#[test]
fn mbuf_cache_bounds() {
    rejects(&patch("mbuf_cache = 256", "mbuf_cache = 513"), "dataplane.mbuf_cache", &["512"]);
    // The caches term scales with mbuf_cache: with none, rings + bursts + pending suffice.
    // 4096 + 128 + 0 + 1024 = 5248.
    let text = patch("mbuf_cache = 256", "mbuf_cache = 0\nmbufs = 5248");
    assert_eq!(accepts(&text).dataplane().mbuf_cache, 0);
    rejects(&text.replacen("mbufs = 5248", "mbufs = 5247", 1), "dataplane.mbufs", &["5248"]);
}

#[test]
fn idle_backoff_values() {
    let text = patch(
        "mbuf_cache = 256",
        "mbuf_cache = 256\nidle_backoff = { empty_polls = 0, sleep_us = 10 }",
    );
    rejects(&text, "dataplane.idle_backoff.empty_polls", &["busy polling"]);
    let text = patch(
        "mbuf_cache = 256",
        "mbuf_cache = 256\nidle_backoff = { empty_polls = 4, sleep_us = 0 }",
    );
    rejects(&text, "dataplane.idle_backoff.sleep_us", &["1 to 100000"]);
    let text = patch(
        "mbuf_cache = 256",
        "mbuf_cache = 256\nidle_backoff = { empty_polls = 4, sleep_us = 100, max_sleep_us = 50 }",
    );
    rejects(&text, "dataplane.idle_backoff.max_sleep_us", &["100 to 100000", "at least sleep_us"]);
}

#[test]
fn tx_checksum_offload_values() {
    let text = patch("mbuf_cache = 256", "mbuf_cache = 256\ntx_checksum_offload = \"off\"");
    assert_eq!(
        accepts(&text).dataplane().tx_checksum_offload,
        crate::config::TxChecksumOffload::Off
    );
    let text = patch("mbuf_cache = 256", "mbuf_cache = 256\ntx_checksum_offload = \"on\"");
    rejects(&text, "dataplane.tx_checksum_offload", &["\"on\"", "auto", "off"]);
}

#[test]
fn local_port_start_values() {
    let text = patch("mbuf_cache = 256", "mbuf_cache = 256");
    assert_eq!(accepts(&text).dataplane().local_port_start, crate::config::LocalPortStart::Random);
    let text = patch("mbuf_cache = 256", "mbuf_cache = 256\nlocal_port_start = \"first\"");
    assert_eq!(accepts(&text).dataplane().local_port_start, crate::config::LocalPortStart::First);
    let text = patch("mbuf_cache = 256", "mbuf_cache = 256\nlocal_port_start = \"zero\"");
    rejects(&text, "dataplane.local_port_start", &["\"zero\"", "random", "first"]);
}

#[test]
fn neigh_parameters() {
    rejects(
        &patch("max_entries = 1024", "max_entries = 1024\ntimeout_s = 0"),
        "neigh.timeout_s",
        &["300"],
    );
    rejects(
        &patch("max_entries = 1024", "max_entries = 1024\nretry_ms = 0"),
        "neigh.retry_ms",
        &["1000"],
    );
    rejects(
        &patch("max_entries = 1024", "max_entries = 1024\nprobes = 0"),
        "neigh.probes",
        &["at least 1"],
    );
    rejects(&patch("max_entries = 1024", "max_entries = 0"), "neigh.max_entries", &["1 to"]);
    rejects(
        &patch("max_entries = 1024", "max_entries = 1024\npending_per_neigh = 2000"),
        "neigh.pending_per_neigh",
        &["pending_total (1024)"],
    );
}

#[test]
fn ctrl_socket_and_group() {
    rejects(
        &patch("socket = \"/run/rvs/test.sock\"", "socket = \"rvs.sock\""),
        "ctrl.socket",
        &["absolute"],
    );
    let long = format!("socket = \"/{}\"", "a".repeat(120));
    rejects(&patch("socket = \"/run/rvs/test.sock\"", &long), "ctrl.socket", &["107"]);
    rejects(
        &patch("socket = \"/run/rvs/test.sock\"", "socket = \"/run/rvs/test.sock\"\ngroup = \"\""),
        "ctrl.group",
        &["group name"],
    );
}

#[test]
fn metrics_listen() {
    rejects(
        &patch("listen = \"127.0.0.1:9100\"", "listen = \"127.0.0.1\""),
        "metrics.listen",
        &["ip:port"],
    );
    rejects(
        &patch("listen = \"127.0.0.1:9100\"", "listen = \"127.0.0.1:0\""),
        "metrics.listen",
        &["fixed"],
    );
    assert!(accepts(&patch("listen = \"127.0.0.1:9100\"", "listen = \"[::1]:9100\""))
        .metrics()
        .listen
        .is_some());
    assert_eq!(
        accepts(&patch("[metrics]\nlisten = \"127.0.0.1:9100\"", "")).metrics().listen,
        None
    );
}

// ---- eal ----

#[test]
fn eal_contradictions() {
    rejects(
        &patch("memory_mb = 256", "memory_mb = 256\nhugepage_dir = \"/dev/hugepages\""),
        "eal.hugepage_dir",
        &["no_huge = true"],
    );
    rejects(
        &patch("no_huge = true", "no_huge = false\nhugepage_dir = \"hugepages\""),
        "eal.hugepage_dir",
        &["absolute"],
    );
    rejects(
        &patch("no_pci = true", "no_pci = true\nallow = [\"0000:3b:00.0\"]"),
        "eal.allow",
        &["no_pci"],
    );
    rejects(
        &patch("no_pci = true", "no_pci = false\nallow = [\"3b:00\"]"),
        "eal.allow[0]",
        &["lspci -D"],
    );
    rejects(
        &patch("no_pci = true", "no_pci = false\nallow = [\"3b:00.0\", \"0000:3b:00.0\"]"),
        "eal.allow[1]",
        &["eal.allow[0]"],
    );
    rejects(&patch("memory_mb = 256", "memory_mb = 0"), "eal.memory_mb", &["remove the key"]);
    rejects(
        &patch("file_prefix = \"rvs-test\"", "file_prefix = \"a/b\""),
        "eal.file_prefix",
        &["letters"],
    );
}

#[test]
fn eal_vdev_names() {
    rejects(
        &patch("\"net_null1,size=64\"", "\"net_null0,size=64\""),
        "eal.vdevs[1]",
        &["eal.vdevs[0]"],
    );
    rejects(&patch("\"net_null1,size=64\"", "\",size=64\""), "eal.vdevs[1]", &["device name"]);
    rejects(&patch("\"net_null1,size=64\"", "\"0000:3b:00.0\""), "eal.vdevs[1]", &["eal.allow"]);
}

#[test]
fn extra_args_must_not_repeat_managed_options() {
    for arg in ["--lcores=0@0", "-l", "-m512", "--vdev", "--file-prefix=x", "--no-huge"] {
        let text = patch(
            "memory_mb = 256",
            &format!("memory_mb = 256\nextra_args = [\"--log-level=8\", \"{arg}\"]"),
        );
        rejects(&text, "eal.extra_args[1]", &["remove it from extra_args"]);
    }
}
