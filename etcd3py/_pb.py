"""The one import of the generated etcd v3 messages; everything else imports them from here.

``rpc`` holds the etcdserverpb messages, ``kv`` the mvccpb messages (KeyValue, Event) and
``auth`` the authpb ones. No gRPC here: the service stubs are :mod:`etcd3py._stubs`'s.
"""

from __future__ import annotations

from etcd3py._gen.authpb import auth_pb2 as auth
from etcd3py._gen.etcdserverpb import rpc_pb2 as rpc
from etcd3py._gen.mvccpb import kv_pb2 as kv

__all__ = ["auth", "kv", "rpc"]
