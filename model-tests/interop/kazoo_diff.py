"""What kazoo sees of a server, printed line by line, for comparing zabkeeper with Apache
ZooKeeper (model-tests/compat.rs): znode stats, null data, ip ACLs, an unsupported request.

Usage: kazoo_diff.py HOST:PORT. Everything printed must be the same for both servers; nothing
printed depends on zxids, times or session ids."""

import sys

from kazoo.client import KazooClient
from kazoo.security import ACL, Id

zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=20)


def show(label, f):
    try:
        print(label, f())
    except Exception as e:  # the exception's type is what a client sees
        print(label, "raises", type(e).__name__)


# cversion counts children's creates and deletes alike.
zk.create("/p", b"")
for i in range(3):
    zk.create("/p/c%d" % i, b"x")
zk.delete("/p/c1")
st = zk.exists("/p")
print("after 3 creates and 1 delete: cversion", st.cversion, "numChildren", st.numChildren)
# ...but the sequence counter of sequential children counts creates only.
zk.create("/q", b"")
first = zk.create("/q/n-", b"", sequence=True)
zk.delete(first)
print("sequential after a delete:", first, zk.create("/q/n-", b"", sequence=True))
print("cversion after create, delete, create:", zk.exists("/q").cversion)

# The reserved nodes (a standalone server's /zookeeper/config is empty).
data, st = zk.get("/zookeeper/config")
print("config:", data, "version", st.version, "aversion", st.aversion, "dataLength", st.dataLength)
st = zk.exists("/zookeeper")
print("/zookeeper: cversion", st.cversion, "numChildren", st.numChildren)

# ip ACLs grant the address they name, and the ranges that hold it.
zk.create("/ipt", b"x", acl=[ACL(31, Id("ip", "127.0.0.1"))])
show("ip: get", lambda: zk.get("/ipt")[0])
show("ip: getAcl", lambda: [(a.perms, a.id.scheme, a.id.id) for a in zk.get_acls("/ipt")[0]])
show("ip: create child", lambda: zk.create("/ipt/c", b"y"))
show("ip: set", lambda: zk.set("/ipt", b"z").version)
zk.create("/ipr", b"x", acl=[ACL(31, Id("ip", "127.0.0.0/8"))])
show("ip range: get", lambda: zk.get("/ipr")[0])
zk.create("/ipo", b"x", acl=[ACL(31, Id("ip", "10.0.0.0/8"))])
show("ip other range: get", lambda: zk.get("/ipo")[0])
show("ip: delete tree", lambda: zk.delete("/ipt", recursive=True))

# Null data stays null (kazoo reads None), apart from empty data; dataLength is 0 for both.
zk.create("/null", None)
data, st = zk.get("/null")
print("null create:", data, "dataLength", st.dataLength)
zk.create("/empty", b"")
print("empty create:", zk.get("/empty")[0])
zk.set("/empty", None)
data, st = zk.get("/empty")
print("null set:", data, "version", st.version, "dataLength", st.dataLength)
t = zk.transaction()  # kazoo's transactions take bytes only
t.set_data("/null", b"now bytes")
t.set_data("/empty", b"")
print("multi:", [(st.version, st.dataLength) for st in t.commit()])
print("after multi:", zk.get("/null")[0], zk.get("/empty")[0])

# reconfig is refused with an error code; the session goes on.
show("reconfig", lambda: zk.reconfig(joining=None, leaving="3", new_members=None))
show("after reconfig", lambda: zk.exists("/p") is not None)
print("session still connected", zk.connected)
zk.stop()
