# Stateless TRex profile: 64-byte TCP to the VIP, two streams:
#   stream 0, "syn": SYNs from ever-new (address, port) pairs -> measures new connections per
#     second (scheduling, connection creation and, for FULLNAT, local port allocation);
#   stream 1, "ack": ACKs over a fixed set of about 1M (address, port) pairs -> measures the
#     established-flow rate once those connections exist (open them first: run the profile with
#     new_share=100 at a low rate over the same 16 Ki addresses, then with new_share=0).
# Tunable `new_share` (0..100) sets the share of SYNs in a mix (10 for the "10% new" scenario).
# Works for every forwarding mode; the director's conf decides which one (see perf/README.md).
#
#   trex-console> start -f perf/trex/stl_tcp64.py -m 8mpps -p 0 -t vip=192.168.100.100,new_share=10
from trex_stl_lib.api import (STLProfile, STLStream, STLPktBuilder, STLTXCont, STLVM,
                              Ether, IP, TCP)


class TcpFlows:
    def _stream(self, t, flags, n_addrs, op, pps_share):
        base = (Ether() / IP(src=t["clients"], dst=t["vip"]) /
                TCP(sport=1024, dport=int(t["vport"]), flags=flags, seq=1000, ack=2000))
        pad = max(0, 60 - len(base)) * b"x"
        vm = STLVM()
        vm.var(name="src", min_value=t["clients"], max_value=_add(t["clients"], n_addrs - 1),
               size=4, op=op)
        vm.var(name="sport", min_value=1024, max_value=1024 + 63, size=2, op=op)
        vm.write(fv_name="src", pkt_offset="IP.src")
        vm.write(fv_name="sport", pkt_offset="TCP.sport")
        vm.fix_chksum()
        return STLStream(packet=STLPktBuilder(pkt=base / pad, vm=vm),
                         mode=STLTXCont(percentage=pps_share))

    def get_streams(self, tunables=None, direction=0, **kwargs):
        t = dict(vip="192.168.100.100", vport=80, clients="10.64.0.0", new_share=100)
        t.update(tunables or {})
        new = float(t["new_share"])
        streams = []
        if new > 0:
            # New flows: a wide range (256 Ki addresses x 64 ports) walked in order, so a pair
            # comes back only after 16M SYNs; a SYN that comes back while its entry still exists
            # is a table hit, not a new connection, so keep runs shorter than 16M SYNs.
            streams.append(self._stream(t, "S", 262144, "inc", new))
        if new < 100:
            streams.append(self._stream(t, "A", 16384, "random", 100 - new))
        return streams


def _add(addr, n):
    a = [int(x) for x in addr.split(".")]
    v = (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) + n
    return ".".join(str(v >> s & 255) for s in (24, 16, 8, 0))


def register():
    return TcpFlows()
