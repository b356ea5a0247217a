"""What kazoo sees of SASL DIGEST-MD5 logins (model-tests/compat.rs): a user of the server's
JAAS file logs in (sasl_options, and kazoo's older auth_data form), its sasl ACL keeps others
out, the super user passes, a wrong password or an unknown user fails.

Usage: kazoo_sasl.py HOST:PORT. The server's JAAS file holds bob/bobsecret and
admin/adminsecret; superUser=admin. Everything printed must be the same for every server."""

import sys
import time
import warnings

from kazoo.client import KazooClient
from kazoo.security import make_acl


warnings.simplefilter("ignore")  # kazoo warns that auth_data's SASL form is deprecated


def client(**kw):
    return KazooClient(hosts=sys.argv[1], timeout=10, **kw)


def digest(user, password):
    return client(sasl_options={"mechanism": "DIGEST-MD5", "username": user, "password": password})


def show(label, f):
    try:
        print(label, f())
    except Exception as e:  # the exception's type is what a client sees
        print(label, "raises", type(e).__name__)


bob = digest("bob", "bobsecret")
bob.start(timeout=20)
bob.create("/s", b"secret", acl=[make_acl("sasl", "bob", all=True)])
show("bob reads", lambda: bob.get("/s")[0])
show("acl", lambda: [(a.perms, a.id.scheme, a.id.id) for a in bob.get_acls("/s")[0]])
bob.create("/a", b"mine", acl=[make_acl("auth", "", all=True)])
show("auth acl", lambda: [(a.perms, a.id.scheme, a.id.id) for a in bob.get_acls("/a")[0]])

anon = client()
anon.start(timeout=20)
show("anonymous reads", lambda: anon.get("/s")[0])
show("anonymous lists", lambda: anon.get_children("/"))

legacy = client(auth_data=[("sasl", "bob:bobsecret")])
legacy.start(timeout=20)
show("auth_data sasl reads", lambda: legacy.get("/s")[0])

admin = digest("admin", "adminsecret")
admin.start(timeout=20)
show("super user reads", lambda: admin.get("/s")[0])

for user, password in [("bob", "wrong"), ("carol", "bobsecret")]:
    bad = digest(user, password)
    # kazoo's start() may return before the failed login has closed the client: wait for it.
    show("login %s/%s" % (user, password), lambda: bad.start(timeout=20))
    deadline = time.time() + 10
    while bad.connected and time.time() < deadline:
        time.sleep(0.05)
    print("then", bad.state, "connected", bad.connected)
    show("exists", lambda: bad.exists("/"))
    bad.stop()
    bad.close()

for c in (bob, anon, legacy, admin):
    c.stop()
