"""etcdctl's commands, one module per area (key-value, txn, watch, lease, cluster, ...)."""
