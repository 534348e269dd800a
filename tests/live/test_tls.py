"""TLS for clients and peers with etcd's flags: etcdctl talks to a cluster whose members
require client certificates and whose peers talk TLS to each other, and a member joins
it (asking for its id over TLS)."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.live.proc_cluster import ProcCluster


def make_pki(d: Path) -> dict[str, str]:
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "extendedKeyUsage=serverAuth,clientAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=raftviz", "-keyout", "node.key",
        "-out", "node.csr")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "node.crt")
    return {name: str(d / name) for name in ("ca.crt", "node.crt", "node.key")}


def test_etcdctl_over_tls_with_client_certificates(tmp_path):
    if shutil.which("openssl") is None or not Path("/usr/bin/etcdctl").exists():
        pytest.skip("needs openssl and etcdctl")
    pki = make_pki(tmp_path)
    flags = []
    for prefix in ("", "peer-"):
        flags += [f"--{prefix}cert-file", pki["node.crt"], f"--{prefix}key-file",
                  pki["node.key"], f"--{prefix}trusted-ca-file", pki["ca.crt"],
                  f"--{prefix}client-cert-auth"]
    c = ProcCluster(tmp_path, extra_args=tuple(flags), scheme="https")
    c.start_all()
    try:
        tls = ["--cacert", pki["ca.crt"], "--cert", pki["node.crt"], "--key", pki["node.key"]]
        etcdctl = ["/usr/bin/etcdctl", "--endpoints", ",".join(c.urls), *tls]
        put = subprocess.run(etcdctl + ["put", "secure", "yes"], capture_output=True,
                             text=True, timeout=30)
        assert put.returncode == 0, put.stderr
        get = subprocess.run(etcdctl + ["get", "secure", "--print-value-only"],
                             capture_output=True, text=True, timeout=30)
        assert get.stdout.strip() == "yes"
        no_cert = subprocess.run(["/usr/bin/etcdctl", "--endpoints", c.urls[0], "--cacert",
                                  pki["ca.crt"], "--dial-timeout=2s", "get", "secure"],
                                 capture_output=True, text=True, timeout=30)
        assert no_cert.returncode != 0     # client-cert-auth refuses a client without one

        joiner = c.add_joiner()
        added = subprocess.run(etcdctl + ["member", "add", c.names[joiner], "--learner",
                                          f"--peer-urls={c.peer_url(joiner)}", "-w", "json"],
                               capture_output=True, text=True, timeout=30)
        assert added.returncode == 0, added.stderr
        c.start(joiner)
        deadline = time.monotonic() + 30
        while (status := subprocess.run(
                ["/usr/bin/etcdctl", "--endpoints", c.urls[joiner], *tls,
                 "--dial-timeout=1s", "endpoint", "status", "-w", "json"],
                capture_output=True, text=True, timeout=30)).returncode != 0:
            assert time.monotonic() < deadline, f"the joiner does not answer: {status.stderr}"
        assert (json.loads(status.stdout)[0]["Status"]["header"]["member_id"]
                == json.loads(added.stdout)["member"]["ID"])
    finally:
        c.stop_all()
