# Stateless TRex profile: 64-byte UDP to the VIP, with client address and port varied so that the
# director's connection table holds about 1M flows (16 Ki addresses x 64 source ports).
# Measures: the director's forwarding rate of established UDP flows (first packet of each flow
# creates the connection, every later one is a table hit) in whichever mode the VIP's dests use
# (DR, TUN, NAT or FULLNAT). Run NDR/PDR searches with it (see perf/README.md).
#
#   trex-console> start -f perf/trex/stl_udp64.py -m 10mpps -p 0 -t vip=192.168.100.100
from trex_stl_lib.api import (STLProfile, STLStream, STLPktBuilder, STLTXCont, STLVM,
                              Ether, IP, UDP)


class UdpFlows:
    def get_streams(self, tunables=None, direction=0, **kwargs):
        t = dict(vip="192.168.100.100", vport=9000, clients="10.64.0.0", n_addrs=16384,
                 n_ports=64)
        t.update(tunables or {})
        base = Ether() / IP(src=t["clients"], dst=t["vip"]) / UDP(sport=1024, dport=int(t["vport"]))
        pad = max(0, 60 - len(base)) * b"x"   # 60 bytes + 4 FCS = 64 on the wire
        vm = STLVM()
        vm.var(name="src", min_value=t["clients"], max_value=_add(t["clients"], int(t["n_addrs"]) - 1),
               size=4, op="inc")
        vm.var(name="sport", min_value=1024, max_value=1024 + int(t["n_ports"]) - 1, size=2,
               op="random")
        vm.write(fv_name="src", pkt_offset="IP.src")
        vm.write(fv_name="sport", pkt_offset="UDP.sport")
        vm.fix_chksum()
        return [STLStream(packet=STLPktBuilder(pkt=base / pad, vm=vm), mode=STLTXCont())]


def _add(addr, n):
    a = [int(x) for x in addr.split(".")]
    v = (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) + n
    return ".".join(str(v >> s & 255) for s in (24, 16, 8, 0))


def register():
    return UdpFlows()
