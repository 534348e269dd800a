def pytest_configure(config):
    config.addinivalue_line("markers", "live: runs real member processes on loopback")
