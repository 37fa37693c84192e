"""Cluster downgrade of the reference server, answering as a one-member etcd 3.5.1.

etcd 3.5 (``v3_server.go`` ``Downgrade``) reads the target as a semantic version, or as
``major.minor`` with ``.0`` added, keeps its major and minor, and accepts only the minor
version just below the cluster's (3.4 for a 3.5 cluster). ``ENABLE`` records the downgrade
(nothing else changes here: no member ever runs another version), ``CANCEL`` clears it.
The answers carry the cluster version, ``3.5.0``.

One difference: etcd 3.5.1 applies ``ENABLE`` and ``CANCEL`` on a one-member cluster but
never answers them (``request timed out`` after 7 s); the reference server answers at once.
"""

from __future__ import annotations

import re

from etcd3py.errors import (
    DowngradeInProcessError,
    InvalidDowngradeTargetVersionError,
    NoInflightDowngradeError,
    WrongDowngradeVersionFormatError,
)

__all__ = ["CLUSTER_VERSION", "Downgrade", "target_version"]

#: the cluster version a one-member etcd 3.5.1 reports.
CLUSTER_VERSION = "3.5.0"
_MAJOR, _MINOR = 3, 5

# go-semver's grammar: MAJOR.MINOR.PATCH, an optional -prerelease and +metadata
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


def target_version(version: str) -> tuple[int, int]:
    """Read a downgrade target as etcd's ``convertToClusterVersion``: (major, minor).

    Args:
        version: ``3.4``, ``3.4.0``, ``3.4.1-rc.0``...

    Returns:
        The major and minor numbers.

    Raises:
        WrongDowngradeVersionFormatError: not a version.
    """
    for text in (version, version + ".0"):
        match = _SEMVER.fullmatch(text)
        if match is not None:
            return int(match.group(1)), int(match.group(2))
    raise WrongDowngradeVersionFormatError()


class Downgrade:
    """Whether a downgrade is enabled, and to which version."""

    def __init__(self) -> None:
        self.target: tuple[int, int] | None = None

    def validate(self, version: str) -> str:
        """Check that the cluster could go to ``version`` now.

        Args:
            version: the target version.

        Returns:
            The cluster version.

        Raises:
            WrongDowngradeVersionFormatError: not a version.
            InvalidDowngradeTargetVersionError: not the minor version below the cluster's.
            DowngradeInProcessError: a downgrade is already enabled.
        """
        if target_version(version) != (_MAJOR, _MINOR - 1):
            raise InvalidDowngradeTargetVersionError()
        if self.target is not None:
            raise DowngradeInProcessError()
        return CLUSTER_VERSION

    def enable(self, version: str) -> str:
        """Validate, then enable the downgrade to ``version``.

        Args:
            version: the target version.

        Returns:
            The cluster version.
        """
        answer = self.validate(version)
        self.target = target_version(version)
        return answer

    def cancel(self) -> str:
        """Cancel the downgrade in progress.

        Returns:
            The cluster version.

        Raises:
            NoInflightDowngradeError: no downgrade is enabled.
        """
        if self.target is None:
            raise NoInflightDowngradeError()
        self.target = None
        return CLUSTER_VERSION
