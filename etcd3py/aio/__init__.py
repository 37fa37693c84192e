"""The asyncio face of etcd3py (``etcd3py.aio``)."""
