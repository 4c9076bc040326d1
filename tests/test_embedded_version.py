"""A data directory made by another PostgreSQL major release than the bundled embedded
server's is refused before the server is started, with what to do, not a pg_ctl traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from devicetrack.cli import main
from devicetrack.db.embedded import EmbeddedVersionMismatch, bundled_major, check_data_dir


def test_the_bundled_server_reports_its_major_release() -> None:
    major = bundled_major()
    assert major is not None and major >= 16


def test_a_data_directory_of_another_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "PG_VERSION").write_text("16\n")
    with pytest.raises(EmbeddedVersionMismatch) as refused:
        check_data_dir(tmp_path, 18)
    message = str(refused.value)
    assert "PostgreSQL 16" in message and "PostgreSQL 18" in message
    assert "devicetrack db backup" in message and "devicetrack db restore" in message
    assert "DEVICETRACK_DATA_DIR" in message


def test_the_same_release_or_a_new_directory_passes(tmp_path: Path) -> None:
    check_data_dir(tmp_path, 18)  # no PG_VERSION yet: initdb will make one
    (tmp_path / "PG_VERSION").write_text("18\n")
    check_data_dir(tmp_path, 18)


def test_the_command_says_so_and_exits_without_a_traceback(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir()
    (data_dir / "PG_VERSION").write_text("9\n")  # no embedded build was ever 9
    result = CliRunner().invoke(
        main,
        ["demo", "--load-only"],
        env={"DATABASE_URL": None, "DEVICETRACK_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 1
    assert "was made by PostgreSQL 9" in result.output
    assert "devicetrack db backup" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (data_dir / "postmaster.pid").exists()
