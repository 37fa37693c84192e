"""The asyncio face of etcd3py."""
