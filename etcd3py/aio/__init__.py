"""The asyncio face of etcd3py (issue 10): ``etcd3py.aio.Client`` and its concerns."""

__all__: list[str] = []
