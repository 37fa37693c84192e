"""Generated etcd v3 API stubs: import them through etcd3py._pb."""
