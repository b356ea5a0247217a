"""kazoo (PyPI), unmodified, against a zabkeeper connect string.

Usage: python3 kazoo_suite.py HOST:PORT[,HOST:PORT...]

Each section prints "ok <name>"; the first failure prints a traceback and exits 1. The
servers of the connect string are reached through small TCP proxies owned by this script, so
that a connection can be cut (the session moves to the next server) or frozen (the server
hears nothing and the leader expires the session), as a network would do it.
"""

import socket
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (
    BadVersionError,
    LockTimeout,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
)
from kazoo.security import make_digest_acl

WAIT = 20.0  # seconds: a bound on liveness waits, not a performance claim


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for(pred, what, timeout=WAIT):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


class Proxy:
    """A loopback TCP proxy to one server that can be cut or frozen."""

    def __init__(self, upstream):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.addr = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                down, _ = self.listener.accept()
                up = socket.create_connection(self.upstream)
            except OSError:
                return
            self.socks += [down, up]
            threading.Thread(target=self._pump, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.frozen.is_set():
                    time.sleep(0.01)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Closes the listener and every connection: the server is unreachable through it."""
        self.listener.close()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def client(hosts, **kw):
    c = KazooClient(hosts=hosts, randomize_hosts=False, **kw)
    c.start(timeout=WAIT)
    return c


def create_modes(a):
    a.create("/k/p", b"persistent", makepath=True)
    s1 = a.create("/k/p/s-", b"", sequence=True)
    s2 = a.create("/k/p/s-", b"", sequence=True, ephemeral=True)
    check(s1 == "/k/p/s-0000000000", s1)
    check(s2 == "/k/p/s-0000000001", s2)  # the parent's cversion, %010d
    path, stat = a.create("/k/e", b"eph", ephemeral=True, include_data=True)
    check(path == "/k/e" and stat.ephemeralOwner == a.client_id[0], stat)
    try:
        a.create("/k/e/child")
        check(False, "a child under an ephemeral")
    except NoChildrenForEphemeralsError:
        pass
    try:
        a.create("/k/p")
        check(False, "created twice")
    except NodeExistsError:
        pass


def versions(a):
    stat = a.set("/k/p", b"v1", version=0)
    check(stat.version == 1, stat)
    try:
        a.set("/k/p", b"v2", version=0)
        check(False, "a stale version was accepted")
    except BadVersionError:
        pass
    data, stat = a.get("/k/p")
    check(data == b"v1" and stat.numChildren == 2 and stat.dataLength == 2, stat)
    a.create("/k/gone", b"")
    try:
        a.delete("/k/gone", version=3)
        check(False, "deleted with a wrong version")
    except BadVersionError:
        pass
    a.delete("/k/gone", version=0)
    check(a.exists("/k/gone") is None, "still there")


def watches(a, b):
    """One-shot data and child watches; b may be on another server."""
    seen = []
    b.sync("/k")
    b.DataWatch("/k/p", lambda data, stat: seen.append(data))
    kids = []
    b.ChildrenWatch("/k", lambda children: kids.append(sorted(children)))
    created = threading.Event()
    b.exists("/k/later", watch=lambda ev: created.set())
    a.set("/k/p", b"watched")
    a.create("/k/later", b"")
    wait_for(lambda: b"watched" in seen, "the data watch")
    wait_for(lambda: kids and "later" in kids[-1], "the child watch")
    check(created.wait(WAIT), "the exists watch")


def multi(a):
    t = a.transaction()
    t.create("/k/m1", b"")
    t.check("/k/p", 99)  # wrong version: nothing of the transaction may apply
    results = t.commit()
    check(isinstance(results[1], BadVersionError), results)
    check(a.exists("/k/m1") is None, "half a transaction applied")
    t = a.transaction()
    t.create("/k/m1", b"")
    t.set_data("/k/m1", b"both")
    check(t.commit() == ["/k/m1", a.exists("/k/m1")], "commit results")
    check(a.get("/k/m1")[0] == b"both", "the transaction's set")


def sync_and_acl(a, b):
    a.create("/k/fresh", b"new")
    b.sync("/k/fresh")
    check(b.get("/k/fresh")[0] == b"new", "sync then read")
    acl = make_digest_acl("user", "secret", all=True)
    a.add_auth("digest", "user:secret")
    a.create("/k/secret", b"s", acl=[acl])
    b.sync("/k/secret")
    try:
        b.get("/k/secret")
        check(False, "read without credentials")
    except NoAuthError:
        pass
    b.add_auth("digest", "user:secret")
    check(b.get("/k/secret")[0] == b"s", "read with credentials")
    acls, _ = b.get_acls("/k/secret")
    check(acls[0].id.scheme == "digest" and acls[0].perms == 31, acls)


def lock(a, b):
    la, lb = a.Lock("/k/lock", "a"), b.Lock("/k/lock", "b")
    check(la.acquire(timeout=WAIT), "a did not get the lock")
    try:
        lb.acquire(timeout=0.5)
        check(False, "both hold the lock")
    except LockTimeout:
        pass
    la.release()
    check(lb.acquire(timeout=WAIT), "b did not get the freed lock")
    lb.release()


def session_move(servers):
    """The session and its ephemeral survive the loss of the connection's server."""
    proxies = [Proxy(servers[0]), Proxy(servers[-1 if len(servers) == 1 else 1])]
    states = []
    c = client(",".join(p.addr for p in proxies))
    c.add_listener(states.append)
    sid = c.client_id[0]
    c.create("/k/moved", b"", ephemeral=True)
    proxies[0].cut()
    wait_for(lambda: KazooState.SUSPENDED in states, "the cut to be noticed")
    wait_for(lambda: c.state == KazooState.CONNECTED, "the reconnection")
    check(c.client_id[0] == sid, "a new session")
    check(c.exists("/k/moved").ephemeralOwner == sid, "the ephemeral was lost")
    c.set("/k/moved", b"still mine")
    c.stop()
    c.close()


def expiry(servers, watcher):
    """A silent session is expired by the leader, through the log; its ephemeral goes."""
    proxy = Proxy(servers[0])
    states = []
    c = client(proxy.addr, timeout=2.0)
    c.add_listener(states.append)
    c.create("/k/expiring", b"", ephemeral=True)
    gone = threading.Event()
    watcher.exists("/k/expiring", watch=lambda ev: gone.set())
    proxy.frozen.set()
    check(gone.wait(WAIT), "the ephemeral of a silent session was not removed")
    proxy.frozen.clear()
    wait_for(lambda: KazooState.LOST in states, "the client to learn its session expired")
    c.stop()
    c.close()


def main():
    servers = sys.argv[1].split(",")
    a = client(servers[0])
    b = client(servers[-1])
    check(a.exists("/k") is None, "the suite needs a tree without /k")
    for name, run in [
        ("create modes", lambda: create_modes(a)),
        ("versions", lambda: versions(a)),
        ("watches", lambda: watches(a, b)),
        ("multi", lambda: multi(a)),
        ("sync and acl", lambda: sync_and_acl(a, b)),
        ("lock", lambda: lock(a, b)),
        ("session move", lambda: session_move(servers)),
        ("expiry", lambda: expiry(servers, b)),
    ]:
        run()
        print("ok", name, flush=True)
    a.stop()
    b.sync("/k")
    check(b.exists("/k/e") is None, "a closed session's ephemeral survived")
    print("ok close", flush=True)
    b.stop()


if __name__ == "__main__":
    main()
