"""What kazoo sees of a server's TLS client port (model-tests/compat.rs): a client with a
certificate connects, its x509 identity opens an ACL that keeps a plain-port client out, the
`auth` scheme expands to that identity, and a client without a certificate is refused.

Usage: kazoo_tls.py SECURE_HOST:PORT PLAIN_HOST:PORT FIXTURES. FIXTURES holds the test CA
(ca.pem) and the client certificate (client.pem, client.key). Everything printed must be the
same for every server."""

import os
import sys
import warnings

from kazoo.client import KazooClient
from kazoo.security import ACL, Id, make_acl

warnings.simplefilter("ignore")
secure, plain, fixtures = sys.argv[1], sys.argv[2], sys.argv[3]
ca = os.path.join(fixtures, "ca.pem")
SUBJECT = "CN=client one,OU=clients,O=zabkeeper tests,C=NL"


def show(label, f):
    try:
        print(label, f())
    except Exception as e:  # the exception's type is what a client sees
        print(label, "raises", type(e).__name__)


def acls(c, path):
    return [(a.perms, a.id.scheme, a.id.id) for a in c.get_acls(path)[0]]


tls = KazooClient(
    hosts=secure,
    timeout=10,
    use_ssl=True,
    ca=ca,
    certfile=os.path.join(fixtures, "client.pem"),
    keyfile=os.path.join(fixtures, "client.key"),
    check_hostname=True,
)
tls.start(timeout=20)
tls.create("/tls", b"over tls", acl=[ACL(31, Id("x509", SUBJECT))])
show("tls reads", lambda: tls.get("/tls")[0])
show("acl", lambda: acls(tls, "/tls"))
tls.create("/tls-auth", b"mine", acl=[make_acl("auth", "", all=True)])
show("auth acl", lambda: acls(tls, "/tls-auth"))

other = KazooClient(hosts=plain, timeout=10)
other.start(timeout=20)
show("plain port reads", lambda: other.get("/tls")[0])
show("plain port lists", lambda: sorted(other.get_children("/")))

nocert = KazooClient(hosts=secure, timeout=5, use_ssl=True, ca=ca, connection_retry=None)
show("no certificate", lambda: nocert.start(timeout=5))
nocert.stop()
nocert.close()
for c in (tls, other):
    c.stop()
