#!/usr/bin/env python3
"""Expected ipvsadm 1.31 listings for the rvsadm golden tests.

Written from the printf layouts in shared/reference/ipvsadm.md (C printf conversions, reproduced
with Python's %-formatting, which follows C printf) and kept independent of the Rust formatter:
run it to regenerate the *.txt files here. Every line of a golden file ends with '$' so trailing
spaces are visible; the tests strip that marker.
"""
import ipaddress, os

HERE = os.path.dirname(os.path.abspath(__file__))

HOSTS = {
    "192.168.0.38": "vip-www.frontend.example.org",
    "192.168.0.18": "web1",
    "192.168.0.28": "backend-server-number-28.lan",
    "2001:db8::20": "v6-real-server-with-an-extremely-long-name.example.net",
}
SERVICES = {("tcp", 80): "http", ("udp", 53): "domain", ("tcp", 443): "https"}

def ap(addr, port, proto, numeric):
    v6 = ":" in addr
    o, c = ("[", "]") if v6 else ("", "")
    a = str(ipaddress.ip_address(addr))
    if numeric:
        s = "%s%s%s:%u" % (o, a, c, port)
    else:
        s = "%s%s%s:%s" % (o, HOSTS.get(a, a), c, SERVICES.get((proto, port), str(port)))
    return s[:59]  # snprintf(buf, 60, ...)

def largenum(i, exact):
    if exact:
        l = len("%d" % i)
        return "%*d" % (9 if l <= 8 else l + 1, i)
    if i < 100000000: return "%9d" % i
    if i < 1000000000: return "%8dK" % (i // 1000)
    if i < 100000000000: return "%8dM" % (i // 1000000)
    if i < 100000000000000: return "%8dG" % (i // 1000000000)
    return "%8dT" % (i // 1000000000000)

def D(addr, port, fwd, w=1, act=0, inact=0, pers=0, up=0, lo=0, stats=(0,)*5, rates=(0,)*5, tun=None):
    return dict(addr=addr, port=port, fwd=fwd, w=w, act=act, inact=inact, pers=pers, up=up, lo=lo,
                stats=stats, rates=rates, tun=tun)

# The scenario (mirrored in src/rvsadm/format_tests.rs::scenario), in sorted listing order.
SVCS = [
    dict(proto="tcp", addr="10.0.0.1", port=0, sched="sh", flags="sh-fallback,sh-port", pers=300,
         mask=None, ops=False, stats=(0,)*5, rates=(0,)*5, dests=[
        D("172.16.0.5", 8080, "FullNat", w=65535, act=4294967295, inact=7),
        D("172.16.0.6", 0, "Tunnel", w=2, tun=("gue", 6080, "r+c", "--tun-remcsum")),
        D("172.16.0.7", 0, "Tunnel", w=2, tun=("gre", 0, "+c", "--tun-csum")),
        D("172.16.0.8", 0, "Tunnel", w=2, tun=("ipip", 0, None, None)),
    ]),
    dict(proto="tcp", addr="10.0.0.2", port=80, sched="rr", flags="flag-3", pers=None, mask=None,
         ops=False, stats=(0,)*5, rates=(0,)*5, dests=[
        D("10.0.0.9", 80, "SNAT"),
        D("10.0.0.10", 80, "Local"),
    ]),
    dict(proto="tcp", addr="192.168.0.38", port=80, sched="wrr", flags=None, pers=None, mask=None,
         ops=False,
         stats=(99999999, 100000000, 999999999, 1000000000, 999999999999),
         rates=(12, 100000000, 7, 99999999999, 100000000000000), dests=[
        D("192.168.0.18", 80, "Route", w=3, act=12, inact=345, pers=2, up=1000, lo=10,
          stats=(123456789, 5, 0, 100000000000, 18446744073709551615),
          rates=(100000000, 3, 99999999, 100000000, 5)),
        D("192.168.0.28", 80, "Route", w=1, stats=(1, 2, 3, 4, 5), rates=(1, 2, 3, 4, 5)),
    ]),
    dict(proto="udp", addr="10.0.0.53", port=53, sched="rr", flags=None, pers=360,
         mask="255.255.255.0", ops=True, stats=(0,)*5, rates=(0,)*5, dests=[
        D("10.1.1.1", 5353, "Masq", w=0),
    ]),
    dict(proto="tcp", addr="2001:db8::10", port=443, sched="wlc", flags=None, pers=600, mask="64",
         ops=False, stats=(1, 2, 3, 4, 5), rates=(0,)*5, dests=[
        D("10.9.9.9", 443, "Tunnel", tun=("ipip", 0, None, None)),
        D("2001:db8::20", 443, "Route"),
        D("2001:db8:ffff:ffff:ffff:ffff:ffff:fff1", 8443, "Masq"),
    ]),
]

def svc_name(s, numeric):
    n = "%-4s %s" % (s["proto"].upper(), ap(s["addr"], s["port"], s["proto"], numeric))
    return n if ":" in s["addr"] else n[:33]

def dname(s, d, numeric):
    n = ap(d["addr"], d["port"], s["proto"], numeric)
    return n if ":" in d["addr"] else n[:28]

def tuninfo(d):
    if d["fwd"] != "Tunnel": return "n/a"
    t = d["tun"]
    if t[0] == "ipip": return "ipip"
    if t[0] == "gue": return "gue:%d:%s" % (t[1], t[2])
    return "gre:%s" % t[2]

def listing(fmt, numeric=True, exact=False):
    out = "IP Virtual Server version 1.2.1 (size=4096)\n"
    L = "Prot LocalAddress:Port"
    if fmt == "stats":
        out += "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n" % (L, "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
    elif fmt == "rate":
        out += "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n" % (L, "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
    elif fmt == "thresholds":
        out += "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n" % (L, "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
    elif fmt == "pconn":
        out += "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n" % (L, "Weight", "PersistConn", "ActiveConn", "InActConn")
    elif fmt == "tun":
        out += "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
    else:
        out += "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    for s in SVCS:
        sn = svc_name(s, numeric)
        if fmt in ("stats", "rate"):
            v = s["stats"] if fmt == "stats" else s["rates"]
            out += "%-33s" % sn + "".join(largenum(x, exact) for x in v) + "\n"
        else:
            line = "%s %s" % (sn, s["sched"])
            if s["flags"]: line += " (%s)" % s["flags"]
            if s["pers"] is not None:
                line += " persistent %u" % s["pers"]
                if s["mask"]: line += " mask %s" % s["mask"]
            if s["ops"]: line += " ops"
            out += line + "\n"
        for d in s["dests"]:
            dn = dname(s, d, numeric)
            if fmt == "stats":
                out += "  -> %-28s" % dn + "".join(largenum(x, exact) for x in d["stats"]) + "\n"
            elif fmt == "rate":
                r = d["rates"]
                out += "  -> %-28s %8u %8u %8u" % (dn, r[0], r[1], r[2]) + largenum(r[3], exact) + largenum(r[4], exact) + "\n"
            elif fmt == "thresholds":
                out += "  -> %-28s %-10u %-10u %-10u %-10u\n" % (dn, d["up"], d["lo"], d["act"], d["inact"])
            elif fmt == "pconn":
                out += "  -> %-28s %-9u %-11u %-10u %-10u\n" % (dn, d["w"], d["pers"], d["act"], d["inact"])
            elif fmt == "tun":
                out += "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n" % (dn, d["fwd"], tuninfo(d), d["w"], d["act"], d["inact"])
            else:
                out += "  -> %-28s %-7s %-6d %-10u %-10u\n" % (dn, d["fwd"], d["w"], d["act"], d["inact"])
    return out

SWITCH = {"Masq": "-m", "Tunnel": "-i", "Route": "-g", "Local": "-g", "FullNat": "-b", "SNAT": "-J"}

def save(numeric):
    out = ""
    for s in SVCS:
        svc = "%s %s" % ("-t" if s["proto"] == "tcp" else "-u", ap(s["addr"], s["port"], s["proto"], numeric))
        line = "-A %s -s %s" % (svc, s["sched"])
        if s["pers"] is not None:
            line += " -p %u" % s["pers"]
            if s["mask"]: line += " -M %s" % s["mask"]
        if s["ops"]: line += " -o"
        if s["flags"]: line += " -b " + s["flags"]
        out += line + "\n"
        for d in s["dests"]:
            dn = ap(d["addr"], d["port"], s["proto"], numeric)
            line = "-a %s -r %s %s -w %d" % (svc, dn, SWITCH[d["fwd"]], d["w"])
            t = d["tun"]
            if d["fwd"] == "Tunnel":
                if t[0] == "gre": line += " --tun-type gre %s" % t[3]
                elif t[0] == "gue": line += " --tun-type gue --tun-port %d %s" % (t[1], t[3])
                else: line += " --tun-type ipip"
            out += line + "\n"
    return out

CONNS = [
    ("tcp", "ESTABLISHED", 899, ("10.1.1.5", 51234), ("192.168.0.38", 80), ("192.168.0.18", 80), None),
    ("udp", "UDP", 300, ("10.1.1.6", 5000), ("10.0.0.53", 53), ("10.1.1.1", 5353), None),
    ("tcp", "FIN_WAIT", 6005, ("2001:db8::99", 40000), ("2001:db8::10", 443), ("2001:db8::20", 443), None),
    ("tcp", "SYN_RECV", 30, ("203.0.113.7", 1025), ("10.0.0.1", 8080), ("172.16.0.5", 8080), ("172.16.0.250", 20001)),
]

def conns(rows, numeric=True):
    any_local = any(r[6] for r in rows)
    out = "IPVS connection entries\n"
    if any_local:
        out += "pro expire %-11s %-18s %-18s %-18s %s\n" % ("state", "source", "virtual", "destination", "local")
    else:
        out += "pro expire %-11s %-18s %-18s %s\n" % ("state", "source", "virtual", "destination")
    for p, st, exp, c, v, d, l in rows:
        e = "%02d:%02d" % (exp // 60, exp % 60)
        n = lambda x: ap(x[0], x[1], p, numeric)
        head = "%-3s %-6s %-11s %-18s %-18s" % (p.upper(), e, st, n(c), n(v))
        if l: out += "%s %-18s %s\n" % (head, n(d), n(l))
        else: out += "%s %s\n" % (head, n(d))
    return out

def write(name, text):
    with open(os.path.join(HERE, name), "w") as f:
        f.write("".join(line + "$\n" for line in text.split("\n")[:-1]))

write("list_n.txt", listing("plain"))
write("list_names.txt", listing("plain", numeric=False))
write("list_stats.txt", listing("stats"))
write("list_stats_exact.txt", listing("stats", exact=True))
write("list_rate.txt", listing("rate"))
write("list_thresholds.txt", listing("thresholds"))
write("list_persistent_conn.txt", listing("pconn"))
write("list_tun_info.txt", listing("tun"))
write("save_n.txt", save(True))
write("save_names.txt", save(False))
write("conns_n.txt", conns(CONNS[:3]))
write("conns_fullnat.txt", conns(CONNS))
