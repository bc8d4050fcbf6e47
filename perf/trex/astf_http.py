# Advanced-stateful TRex profile: real TCP connections carrying a small HTTP GET and its
# response, from a range of client addresses to the VIP, for NAT and FULLNAT (both directions
# cross the director, so TRex plays both the clients and the real servers: put the server side
# of TRex where the real servers are, with the dests' addresses).
# Measures: connections per second completed end to end (handshake, request, response, FIN) and
# the concurrent connections the director sustains, with replies, local ports (FULLNAT) and the
# TCP state machine exercised — what the stateless profiles cannot show.
#
#   sudo ./t-rex-64 -f perf/trex/astf_http.py --astf -m 100000 -d 60 -t vip=192.168.100.100
from trex.astf.api import (ASTFProfile, ASTFCapInfo, ASTFIPGen, ASTFIPGenDist, ASTFIPGenGlobal,
                           ASTFProgram, ASTFTemplate, ASTFTCPClientTemplate,
                           ASTFTCPServerTemplate, ASTFAssociationRule)

REQ = b"GET /index.html HTTP/1.1\r\nHost: vip\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\n" + b"x" * 32


class Http:
    def get_profile(self, tunables=None, **kwargs):
        t = dict(vip="192.168.100.100", vport=80, clients="10.64.0.0", n_clients=65535,
                 servers="192.168.200.12", n_servers=2, cps=100000)
        t.update(tunables or {})
        client = ASTFProgram()
        client.send(REQ)
        client.recv(len(RESP))
        server = ASTFProgram()
        server.recv(len(REQ))
        server.send(RESP)
        ip_gen = ASTFIPGen(
            glob=ASTFIPGenGlobal(ip_offset="1.0.0.0"),
            dist_client=ASTFIPGenDist(ip_range=[t["clients"], _add(t["clients"], int(t["n_clients"]))],
                                      distribution="seq"),
            # The client side connects to the VIP only; the server side answers as the dests.
            dist_server=ASTFIPGenDist(ip_range=[t["vip"], t["vip"]], distribution="seq"))
        temp_c = ASTFTCPClientTemplate(program=client, ip_gen=ip_gen, port=int(t["vport"]),
                                       cps=int(t["cps"]))
        temp_s = ASTFTCPServerTemplate(program=server,
                                       assoc=ASTFAssociationRule(port=int(t["vport"])))
        return ASTFProfile(default_ip_gen=ip_gen,
                           templates=ASTFTemplate(client_template=temp_c, server_template=temp_s))


def _add(addr, n):
    a = [int(x) for x in addr.split(".")]
    v = (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) + n
    return ".".join(str(v >> s & 255) for s in (24, 16, 8, 0))


def register():
    return Http()
