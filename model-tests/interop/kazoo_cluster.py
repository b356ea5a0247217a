"""A pytest plugin that runs kazoo's own test suite (the `kazoo.tests` package kazoo ships)
against `zabkeeper server` processes instead of the Java cluster kazoo's harness starts.

kazoo's harness asks `kazoo.testing.harness.get_global_cluster()` for its cluster; this plugin
puts a cluster of zabkeeper servers in its place, with the interface the tests use: iterating
servers (`address`, `running`, `run`, `stop`, `reset`), `start`, `stop`, `terminate`, `reset`,
`get_logs`. The servers are configured as the harness configures ZooKeeper's (four-letter
words, the super digest of the password "test", the JAAS file of its SASL tests), except
`reconfigEnabled`, which zabkeeper does not have.

Environment: ZABKEEPER_BIN (the binary), ZABKEEPER_PORTS (client ports, then quorum ports, then
election ports, then secure client ports, comma separated: 4 per server), ZABKEEPER_CLUSTER_DIR
(where the servers keep their configuration, data and logs), ZABKEEPER_TLS (the test CA and
certificates, model-tests/fixtures/tls: each server has a TLS port, as the harness gives
ZooKeeper). Run by model-tests/compat.rs.
"""

import os
import shutil
import socket
import subprocess
import time

import kazoo.testing.harness as harness

BIN = os.environ["ZABKEEPER_BIN"]
PORTS = [int(p) for p in os.environ["ZABKEEPER_PORTS"].split(",")]
SIZE = len(PORTS) // 4
TLS = os.environ["ZABKEEPER_TLS"]
ROOT = os.environ["ZABKEEPER_CLUSTER_DIR"]
JAAS = os.path.join(ROOT, "jaas.conf")
os.makedirs(ROOT, exist_ok=True)
with open(JAAS, "w") as f:
    f.write(
        "Server {\n"
        "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        '    user_super="super_secret"\n'
        '    user_jaasuser="jaas_password";\n'
        "};\n"
    )


class Server:
    def __init__(self, i):
        self.i = i
        self.dir = os.path.join(ROOT, "s%d" % i)
        self.proc = None
        self.port = PORTS[i - 1]

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def secure_address(self):
        return "127.0.0.1:%d" % PORTS[3 * SIZE + self.i - 1]

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def write_config(self):
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        with open(os.path.join(self.dir, "data", "myid"), "w") as f:
            f.write(str(self.i))
        lines = [
            "tickTime=500",
            "initLimit=10",
            "syncLimit=5",
            "dataDir=%s/data" % self.dir,
            "clientPort=%d" % self.port,
            "clientPortAddress=127.0.0.1",
            "4lw.commands.whitelist=*",
            "extendedTypesEnabled=true",
            "maxClientCnxns=0",
            # The JAAS file kazoo's harness gives ZooKeeper for its SASL tests (there only when
            # ZOOKEEPER_JAAS_AUTH=digest; always here, which changes nothing for other tests).
            "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            "java.security.auth.login.config=%s" % JAAS,
            "secureClientPort=%d" % PORTS[3 * SIZE + self.i - 1],
            # The harness starts ZooKeeper with -Dreadonlymode.enabled=true.
            "readonlymode.enabled=true",
            "ssl.keyStore.location=%s" % os.path.join(TLS, "server-keystore.pem"),
            "ssl.trustStore.location=%s" % os.path.join(TLS, "ca.pem"),
        ]
        if SIZE > 1:
            for j in range(1, SIZE + 1):
                quorum, election = PORTS[SIZE + j - 1], PORTS[2 * SIZE + j - 1]
                lines.append("server.%d=127.0.0.1:%d:%d" % (j, quorum, election))
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def run(self):
        if self.running:
            return
        self.write_config()
        log = open(os.path.join(self.dir, "server.log"), "a")
        # The harness's super digest (password "test"), as it gives ZooKeeper.
        env = dict(os.environ, ZABKEEPER_SUPER_DIGEST="super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        cfg = os.path.join(self.dir, "zoo.cfg")
        self.proc = subprocess.Popen(
            [BIN, "server", "--config", cfg], stdout=subprocess.DEVNULL, stderr=log, env=env
        )

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def reset(self):
        self.stop()
        shutil.rmtree(os.path.join(self.dir, "data"), ignore_errors=True)

    destroy = reset

    def get_logs(self, num_lines=100):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.readlines()[-num_lines:]
        except OSError:
            return []


class Cluster:
    def __init__(self):
        self.servers = [Server(i) for i in range(1, SIZE + 1)]

    def __getitem__(self, k):
        return self.servers[k]

    def __iter__(self):
        return iter(self.servers)

    def start(self):
        for s in self.servers:
            s.run()
        deadline = time.time() + 30
        for s in self.servers:
            while time.time() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", s.port), 1) as c:
                        c.sendall(b"srvr")
                        if b"Mode" in c.recv(4096):
                            break
                except OSError:
                    pass
                time.sleep(0.1)

    def stop(self):
        for s in self.servers:
            s.stop()

    def terminate(self):
        for s in self.servers:
            s.destroy()

    def reset(self):
        for s in self.servers:
            s.reset()

    def get_logs(self):
        return [s.get_logs() for s in self.servers]

    def get_ssl_client_configuration(self):
        def read(name):
            with open(os.path.join(TLS, name), "rb") as f:
                return f.read()

        return {
            "client_key": read("client.key"),
            "client_cert": read("client.pem"),
            "ca_cert": read("ca.pem"),
        }


CLUSTER = Cluster()
harness.get_global_cluster = lambda: CLUSTER


def pytest_unconfigure(config):
    CLUSTER.terminate()
