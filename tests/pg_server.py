"""A throwaway PostgreSQL server for tests: a fresh cluster in a temporary directory, unix socket only.

Which binaries, in order of preference:

1. `pgserver` (PostgreSQL bundled in a wheel, so CI needs no server). As an ordinary user we use
   `pgserver.get_server`, its intended entry point.
2. `initdb` / `pg_ctl` from PATH.

PostgreSQL refuses to run as root, and as root `pgserver.get_server` would add a system user
(`useradd pgserver`) and open up the permissions of every parent directory of the data dir. So
as root we start the same binaries ourselves as an existing unprivileged account (`postgres`) in
a private directory under the system temp dir, and never create users. No binaries, or root
without such an account: the tests are skipped with the reason.

The cluster trusts local connections (it listens on no TCP address, only a socket in a directory
nobody else can reach), so tests can create LOGIN roles and connect as them without passwords.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

SUPERUSER = "postgres"
_ROOT_RUNS_AS = "postgres"
_FAST = ("-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off")


@dataclass(frozen=True)
class PgServer:
    """Where the throwaway server listens: a socket directory and port (the socket's name)."""

    socket_dir: str
    port: int
    superuser: str = SUPERUSER

    def url(self, user: str | None = None, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver)."""
        return (
            f"postgresql+psycopg://{quote(user or self.superuser)}@/{quote(dbname)}"
            f"?host={quote(self.socket_dir)}&port={self.port}"
        )

    def conninfo(self, user: str | None = None, dbname: str = "postgres") -> str:
        """libpq connection string for `psycopg.connect`."""
        return f"host='{self.socket_dir}' port={self.port} user='{user or self.superuser}' dbname='{dbname}'"


@contextlib.contextmanager
def running_server(base: Path) -> Iterator[PgServer]:
    """Start a fresh cluster (under `base` when not root), yield where it listens, stop and remove it."""
    bin_dir = _bundled_bin_dir()
    if os.geteuid() != 0 and bin_dir is not None:
        with _pgserver(base) as server:
            yield server
        return
    if bin_dir is None:
        found = shutil.which("initdb"), shutil.which("pg_ctl")
        if not all(found):
            pytest.skip("no PostgreSQL for the test: install pgserver or put initdb/pg_ctl on PATH")
        bin_dir = Path(str(found[0])).resolve().parent
    with _own_cluster(bin_dir, base) as server:
        yield server


def _bundled_bin_dir() -> Path | None:
    """pgserver's binaries, located without importing it (its import touches the runtime dir)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    bin_dir = Path(spec.origin).resolve().parent / "pginstall" / "bin"
    return bin_dir if (bin_dir / "initdb").exists() else None


@contextlib.contextmanager
def _pgserver(base: Path) -> Iterator[PgServer]:
    import pgserver

    server = pgserver.get_server(base / "pgdata", cleanup_mode="delete")
    try:
        info = server.get_postmaster_info()
        if info.socket_dir is None:
            raise RuntimeError(f"pgserver started without a unix socket: {info}")
        yield PgServer(socket_dir=str(info.socket_dir), port=info.port or 5432)
    finally:
        server.cleanup()


@contextlib.contextmanager
def _own_cluster(bin_dir: Path, base: Path) -> Iterator[PgServer]:
    """initdb + pg_ctl start; as root, run them as an existing unprivileged account."""
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(_ROOT_RUNS_AS)
        except KeyError:
            pytest.skip(f"running as root and no {_ROOT_RUNS_AS!r} account to run PostgreSQL as")
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        # the pytest tmp dir is private to root: use a fresh private dir the account owns instead
        home = Path(tempfile.mkdtemp(prefix="pgtest-"))
        os.chown(home, account.pw_uid, account.pw_gid)
    else:
        home = Path(tempfile.mkdtemp(prefix="pg-", dir=base))
    data, log, port = home / "data", home / "server.log", 5432
    try:
        _run(
            [bin_dir / "initdb", "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            run_as,
        )
        options = " ".join((f"-k {home}", "-h ''", f"-p {port}", *_FAST))
        try:
            _run(
                [bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"], run_as
            )
        except RuntimeError as err:
            raise RuntimeError(f"{err}\nserver log:\n{_tail(log)}") from err
        try:
            yield PgServer(socket_dir=str(home), port=port)
        finally:
            _run([bin_dir / "pg_ctl", "-D", data, "-w", "-m", "fast", "stop"], run_as)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run(args: list[Any], run_as: dict[str, Any]) -> None:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=tempfile.gettempdir(), **run_as
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(str(args[0])).name} failed ({done.returncode}): {done.stderr or done.stdout}"
        )


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    return "(no log)"
