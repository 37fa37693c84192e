"""The one import of the generated gRPC service stubs and servicers (the wire's layer).

``rpc_grpc`` holds ``KVStub``, ``WatchStub``... and the servicers the reference server
implements. The messages are :mod:`etcd3py._pb`'s, which imports no gRPC.
"""

from __future__ import annotations

from etcd3py._gen.etcdserverpb import rpc_pb2_grpc as rpc_grpc

__all__ = ["rpc_grpc"]
