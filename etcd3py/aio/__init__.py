"""The asyncio face of etcd3py (see :class:`etcd3py.aio.client.Client`)."""
