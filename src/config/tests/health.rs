//! Health-check keys in the config: keepalived's defaults and inheritance, every checker, and
//! the refusals with their keys.

use std::time::Duration;

use super::services::with_services;
use crate::config::{Config, ConfigError};
use crate::health::plan::{CheckKind, DnsType, HttpProtocol};

const SVC: &str = r#"
[[service]]
proto = "tcp"
vip = "10.0.0.100:80"
scheduler = "wrr"
delay_loop = 6
connect_timeout = 4
quorum = 2
hysteresis = 1
quorum_up = "/etc/rvs/quorum.sh up"
quorum_down = "/etc/rvs/quorum.sh down"
sorry_server = "10.0.0.99"
sorry_server_inhibit = true
virtualhost = "www.example.com"

[[service.dest]]
addr = "10.0.0.12"
weight = 2
inhibit_on_failure = true
notify_down = "logger rs1 down"
[service.dest.http_get]
connect_timeout = 2.5
bindto = "10.0.0.5"
[[service.dest.http_get.url]]
path = "/health"
status_code = [200, "300-302"]
digest = "9b3a0c85a887a256d6939da88aabd8cd"
regex = "ok|alive"

[[service.dest]]
addr = "10.0.0.13"
[service.dest.tcp_check]
connect_port = 8080
retry = 3
warmup = 0
[service.dest.misc_check]
misc_path = "/usr/local/bin/check 10.0.0.13"
misc_dynamic = true

[[service.dest]]
addr = "10.0.0.14"
"#;

fn load(services: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(&with_services(services))
}

fn invalid(services: &str) -> (String, String) {
    match load(services) {
        Err(ConfigError::Invalid { key, message, .. }) => (key, message),
        other => panic!("accepted or other error: {other:?}"),
    }
}

#[test]
fn keys_defaults_and_inheritance() {
    let cfg = load(SVC).unwrap();
    let plan = cfg.health();
    assert_eq!(plan.services.len(), 1);
    let s = &plan.services[0];
    assert_eq!((s.quorum, s.hysteresis), (2, 1));
    assert_eq!(s.quorum_up.as_deref(), Some("/etc/rvs/quorum.sh up"));
    let sorry = s.sorry.as_ref().unwrap();
    assert!(sorry.inhibit);
    assert_eq!(
        (sorry.spec.addr.to_string(), sorry.spec.port, sorry.spec.weight),
        ("10.0.0.99".into(), 80, 1)
    );
    // The sorry server is not in the table the daemon starts from (the checks add it).
    assert_eq!(cfg.services().services()[0].dests.len(), 3);

    let d0 = &s.dests[0];
    assert!(d0.inhibit_on_failure && !d0.alpha);
    assert_eq!(d0.notify_down.as_deref(), Some("logger rs1 down"));
    let http = &d0.checkers[0];
    // delay_loop from the service, connect_timeout from the checker, HTTP's delay_before_retry.
    assert_eq!(http.timing.delay_loop, Duration::from_secs(6));
    assert_eq!(http.timing.timeout, Duration::from_millis(2500));
    assert_eq!((http.timing.retry, http.timing.delay_before_retry), (1, Duration::from_secs(3)));
    assert_eq!(http.timing.warmup, Duration::from_secs(6));
    assert_eq!(http.target.to_string(), "10.0.0.12:80");
    assert_eq!(http.bind.map(|b| b.to_string()).as_deref(), Some("10.0.0.5:0"));
    let CheckKind::Http(h) = &http.kind else { panic!() };
    assert_eq!(h.protocol, HttpProtocol::V10);
    let u = &h.urls[0];
    assert_eq!(u.status, vec![(200, 200), (300, 302)]);
    assert_eq!(u.virtualhost.as_deref(), Some("www.example.com"));
    assert!(u.digest.is_some() && u.regex.is_some());

    let d1 = &s.dests[1];
    assert_eq!(d1.checkers.len(), 2);
    let tcp = &d1.checkers[0];
    assert!(matches!(tcp.kind, CheckKind::Tcp));
    assert_eq!(tcp.target.to_string(), "10.0.0.13:8080");
    assert_eq!((tcp.timing.retry, tcp.timing.warmup), (3, Duration::ZERO));
    assert_eq!(
        (tcp.timing.timeout, tcp.timing.delay_before_retry),
        (Duration::from_secs(4), Duration::from_secs(1))
    );
    let misc = &d1.checkers[1];
    let CheckKind::Misc(m) = &misc.kind else { panic!() };
    assert!(m.dynamic);
    // MISC_CHECK: retry 0, misc_timeout = delay_loop (the service's connect_timeout is not for scripts).
    assert_eq!((misc.timing.retry, misc.timing.timeout), (0, Duration::from_secs(6)));
    // An unchecked dest of a checked service.
    assert!(s.dests[2].checkers.is_empty());
}

#[test]
fn keepalived_defaults_without_any_timer() {
    let cfg = load(
        r#"
[[service]]
proto = "udp"
vip = "10.0.0.100:53"
[[service.dest]]
addr = "10.0.0.12"
[service.dest.udp_check]
payload = "ab cd"
require_reply = "xx"
"#,
    )
    .unwrap();
    let c = &cfg.health().services[0].dests[0].checkers[0];
    assert_eq!(c.timing.delay_loop, Duration::from_secs(60));
    assert_eq!(c.timing.timeout, Duration::from_secs(5));
    assert_eq!(c.timing.warmup, Duration::from_secs(60));
    assert_eq!((c.timing.retry, c.timing.delay_before_retry), (1, Duration::from_secs(1)));
    let CheckKind::Udp(u) = &c.kind else { panic!() };
    assert_eq!(u.payload, vec![0xab, 0xcd]);
    assert_eq!(u.require_reply, Some(vec![(0, 0)]));
    assert_eq!((u.min_reply_length, u.max_reply_length), (0, 255));
}

#[test]
fn services_without_health_keys_have_no_plan() {
    let cfg = load(
        r#"
[[service]]
proto = "tcp"
vip = "10.0.0.100:80"
[[service.dest]]
addr = "10.0.0.12"
"#,
    )
    .unwrap();
    assert!(cfg.health().services.is_empty() && cfg.health().is_empty());
}

#[test]
fn refusals_name_the_key_and_the_fix() {
    let svc = |extra: &str, dest: &str| {
        format!("[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n{extra}\n[[service.dest]]\naddr = \"10.0.0.12\"\n{dest}\n")
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (
            svc("delay_loop = 0", "[service.dest.tcp_check]"),
            "service[0].dest[0].tcp_check.delay_loop",
            "not a time",
        ),
        (
            svc("", "[service.dest.tcp_check]\nconnect_timeout = -1"),
            "service[0].dest[0].tcp_check.connect_timeout",
            "not a time",
        ),
        (svc("", "[service.dest.http_get]"), "service[0].dest[0].http_get.url", "at least one url"),
        (
            svc("", "[service.dest.http_get]\nurl = [{ path = \"health\" }]"),
            "service[0].dest[0].http_get.url[0].path",
            "start it with /",
        ),
        (
            svc("", "[service.dest.http_get]\nurl = [{ path = \"/\", digest = \"abc\" }]"),
            "service[0].dest[0].http_get.url[0].digest",
            "32 hex digits",
        ),
        (
            svc("", "[service.dest.http_get]\nurl = [{ path = \"/\", regex = \"(\" }]"),
            "service[0].dest[0].http_get.url[0].regex",
            "not a regular expression",
        ),
        (
            svc("", "[service.dest.http_get]\nurl = [{ path = \"/\", status_code = [700] }]"),
            "service[0].dest[0].http_get.url[0].status_code",
            "100..599",
        ),
        (
            svc("", "[service.dest.http_get]\nhttp_protocol = \"2\"\nurl = [{ path = \"/\" }]"),
            "service[0].dest[0].http_get.http_protocol",
            "1.0C",
        ),
        (
            svc("", "[service.dest.udp_check]\npayload = \"zz\""),
            "service[0].dest[0].udp_check.payload",
            "hex",
        ),
        (
            svc("", "[service.dest.udp_check]\nmax_reply_length = 10"),
            "service[0].dest[0].udp_check.require_reply",
            "require_reply = true",
        ),
        (
            svc("", "[service.dest.misc_check]\nmisc_dynamic = true"),
            "service[0].dest[0].misc_check.misc_path",
            "misc_path",
        ),
        (
            svc("", "[service.dest.tcp_check]\nbindto = \"host\""),
            "service[0].dest[0].tcp_check.bindto",
            "not an IP address",
        ),
        (svc("quorum = 0", ""), "service[0].quorum", "at least 1"),
        (
            svc("sorry_server = \"10.0.0.12\"", ""),
            "service[0].sorry_server",
            "also a [[service.dest]]",
        ),
        (
            svc("sorry_server = \"10.0.0.99:8080\"", ""),
            "service[0].sorry_server",
            "keeps the VIP's port",
        ),
        (svc("sorry_server_inhibit = true", ""), "service[0].sorry_server", "missing"),
        (
            svc("sorry_server = \"10.0.0.99\"\nsorry_server_fwd = \"snat\"", ""),
            "service[0].sorry_server_fwd",
            "SNAT",
        ),
        (
            svc("", "notify_up = \" \"\n[service.dest.tcp_check]"),
            "service[0].dest[0].notify_up",
            "empty",
        ),
    ];
    for (text, key, words) in cases {
        let (k, m) = invalid(&text);
        assert_eq!(k, key, "{text}\n{m}");
        assert!(m.contains(words), "{key}: {m}");
    }
}

#[test]
fn unknown_checker_keys_are_syntax_errors() {
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n[[service.dest]]\naddr = \"10.0.0.12\"\n[service.dest.tcp_check]\npath = \"/\"\n";
    assert!(matches!(load(text), Err(ConfigError::Syntax { .. })));
    let text = "[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n[[service.dest]]\naddr = \"10.0.0.12\"\n[service.dest.misc_check]\nmisc_path = \"x\"\nbindto = \"10.0.0.5\"\n";
    assert!(matches!(load(text), Err(ConfigError::Syntax { .. })));
}

// --- keepalived's remaining checkers: keys, defaults, refusals ---------------------------------

#[test]
fn ssl_smtp_dns_ping_and_file_checkers_take_their_keys_and_defaults() {
    let cfg = load(
        r#"
[[service]]
proto = "tcp"
vip = "10.0.0.100:443"
delay_loop = 4
virtualhost = "www.example.com"

[[service.dest]]
addr = "10.0.0.12:443"
[service.dest.ssl_get]
enable_sni = true
http_protocol = "1.1"
[[service.dest.ssl_get.url]]
path = "/health"
status_code = [200]
[service.dest.smtp_check]
connect_port = 25
helo_name = "lb.example.com"
[service.dest.dns_check]
connect_port = 53
type = "a"
name = "www.example.com."
[service.dest.ping_check]
bindto = "10.0.0.5"
[service.dest.file_check]
file = "/run/rvs/rs1"
weight = 2
reverse = true
dynamic = true
"#,
    )
    .unwrap();
    let d = &cfg.health().services[0].dests[0];
    let names: Vec<&str> = d.checkers.iter().map(|c| c.kind.name()).collect();
    assert_eq!(names, ["SSL_GET", "SMTP_CHECK", "DNS_CHECK", "PING_CHECK", "FILE_CHECK"]);
    let [ssl, smtp, dns, ping, file] = &d.checkers[..] else { panic!() };
    let CheckKind::Ssl(s) = &ssl.kind else { panic!() };
    assert!(s.sni);
    assert_eq!(s.http.protocol, HttpProtocol::V11);
    assert_eq!(s.http.urls[0].virtualhost.as_deref(), Some("www.example.com"));
    // SSL_GET waits 3 s before a retry, as HTTP_GET.
    assert_eq!(ssl.timing.delay_before_retry, Duration::from_secs(3));
    assert_eq!(ssl.target.to_string(), "10.0.0.12:443");
    let CheckKind::Smtp(m) = &smtp.kind else { panic!() };
    assert_eq!((m.helo_name.as_str(), smtp.target.port()), ("lb.example.com", 25));
    let CheckKind::Dns(q) = &dns.kind else { panic!() };
    assert_eq!((q.qtype, q.name.as_str()), (DnsType::A, "www.example.com."));
    // DNS_CHECK: retry 3, delay_before_retry = delay_loop (keepalived's defaults).
    assert_eq!((dns.timing.retry, dns.timing.delay_before_retry), (3, Duration::from_secs(4)));
    assert_eq!(
        (ping.target.to_string().as_str(), ping.bind.map(|b| b.ip().to_string())),
        ("10.0.0.12:0", Some("10.0.0.5".into()))
    );
    let CheckKind::File(f) = &file.kind else { panic!() };
    assert_eq!((f.weight, f.reverse, f.dynamic, f.base_weight), (2, true, true, 1));
    assert_eq!(f.path, std::path::PathBuf::from("/run/rvs/rs1"));

    let cfg = load("[[service]]\nproto = \"udp\"\nvip = \"10.0.0.100:53\"\n[[service.dest]]\naddr = \"10.0.0.12\"\n[service.dest.dns_check]\n[service.dest.smtp_check]\n").unwrap();
    let d = &cfg.health().services[0].dests[0];
    let CheckKind::Smtp(m) = &d.checkers[0].kind else { panic!() };
    assert_eq!(m.helo_name, crate::config::health::DEFAULT_HELO_NAME);
    let CheckKind::Dns(q) = &d.checkers[1].kind else { panic!() };
    assert_eq!((q.qtype, q.name.as_str()), (DnsType::Soa, "."));
}

#[test]
fn the_new_checkers_refuse_nonsense_with_the_key() {
    let dest = |table: &str| {
        format!("[[service]]\nproto = \"tcp\"\nvip = \"10.0.0.100:80\"\n[[service.dest]]\naddr = \"10.0.0.12\"\n{table}")
    };
    for (table, key, words) in [
        (
            "[service.dest.dns_check]\ntype = \"ANY\"\n",
            "service[0].dest[0].dns_check.type",
            "not a query type",
        ),
        (
            "[service.dest.dns_check]\nname = \"a..b\"\n",
            "service[0].dest[0].dns_check.name",
            "not a domain name",
        ),
        (
            "[service.dest.smtp_check]\nhelo_name = \"two words\"\n",
            "service[0].dest[0].smtp_check.helo_name",
            "not a host name",
        ),
        (
            "[service.dest.file_check]\nfile = \"rel/path\"\n",
            "service[0].dest[0].file_check.file",
            "absolute path",
        ),
        (
            "[service.dest.file_check]\nweight = 1\n",
            "service[0].dest[0].file_check.file",
            "missing",
        ),
        (
            "[service.dest.file_check]\nfile = \"/f\"\ndynamic = true\n",
            "service[0].dest[0].file_check.dynamic",
            "needs weight",
        ),
        ("[service.dest.ssl_get]\n", "service[0].dest[0].ssl_get.url", "missing"),
    ] {
        let (k, m) = invalid(&dest(table));
        assert_eq!(k, key, "{table}");
        assert!(m.contains(words), "{table}: {m}");
    }
    // Keys of another checker are a syntax error, as for the others.
    assert!(matches!(
        load(&dest("[service.dest.ping_check]\nconnect_port = 80\n")),
        Err(ConfigError::Syntax { .. })
    ));
}
