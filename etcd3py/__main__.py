"""``python -m etcd3py``: the etcdctl-compatible command line (see :mod:`etcd3py.cli`)."""

from etcd3py.cli import run

if __name__ == "__main__":
    run()
