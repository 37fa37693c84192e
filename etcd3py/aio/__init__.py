"""The asyncio face of etcd3py (see :class:`etcd3py.aio.client.Client`)."""

__all__: list[str] = []  # the lead's version (the Client) replaces this file
