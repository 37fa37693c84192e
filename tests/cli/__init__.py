"""Differential tests of ``python -m etcd3py`` (the etcdctl clone) against etcdctl 3.5.1."""
