"""The `etcd` marker: tests that start a real etcd 3.4 cluster (select with `-m etcd`,
leave out with `-m "not etcd"`); they skip when /usr/bin/etcd is not installed."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "etcd: starts a real etcd 3.4 cluster on loopback (skips if not installed)")
