"""The one import of the generated etcd v3 stubs; everything else imports them from here.

``rpc`` holds the etcdserverpb messages, ``rpc_grpc`` the service stubs and servicers,
``kv`` the mvccpb messages (KeyValue, Event) and ``auth`` the authpb ones.
"""

from __future__ import annotations

from etcd3py._gen.authpb import auth_pb2 as auth
from etcd3py._gen.etcdserverpb import rpc_pb2 as rpc
from etcd3py._gen.etcdserverpb import rpc_pb2_grpc as rpc_grpc
from etcd3py._gen.mvccpb import kv_pb2 as kv

__all__ = ["auth", "kv", "rpc", "rpc_grpc"]
