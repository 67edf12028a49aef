"""The delimited reader's fast path (whole-file decode, one csv reader for all lines) gives
exactly what reading line by line gives, including the lines it must set aside."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sources.readers as readers
from sources.layout import file_layouts
from sources.readers import ParsedFile, read_file

LAYOUTS = file_layouts()


def _line_by_line(monkeypatch: pytest.MonkeyPatch, layout_name: str, path: Path) -> ParsedFile:
    with monkeypatch.context() as m:
        m.setattr(readers, "_decoded_lines", lambda *a: None)
        m.setattr(readers, "_split_quoted", lambda *a: None)
        return read_file(LAYOUTS[layout_name], path, path.name)


def _same(a: ParsedFile, b: ParsedFile) -> None:
    pd.testing.assert_frame_equal(a.rows, b.rows)
    assert a.rejects == b.rejects


@pytest.mark.parametrize("system", ["wp", "title1", "vr", "adult_ed"])
def test_fast_path_equals_line_by_line_on_the_samples(
    samples_dir: Path, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    for path in sorted((samples_dir / system).glob("*/*")):
        if path.suffix == ".ctl":
            continue
        ft = next(
            lay.file_type
            for lay in LAYOUTS.values()
            if path.name.startswith(lay.prefix) and path.name.endswith(lay.suffix)
        )
        _same(read_file(LAYOUTS[ft], path, path.name), _line_by_line(monkeypatch, ft, path))


def test_a_quote_that_opens_a_field_mid_line_sets_aside_only_that_line(
    samples_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = next((samples_dir / "wp").glob("*/wp_registrations_*.csv"))
    lines = sample.read_bytes().splitlines(keepends=True)
    fields = lines[1].rstrip(b"\r\n").split(b",")
    fields[2] = b'AB"C'  # a literal quote in an unquoted field (even count with the next one) ...
    fields[4] = b'"D' + fields[4]  # ... and a quote that opens a field the line never closes
    bad = b",".join(fields) + b"\n"
    closes = b'E",X"Y\n'  # closes that field: read as one stream, the two lines would be one record
    path = tmp_path / sample.name
    path.write_bytes(b"".join([lines[0], bad, closes, *lines[1:]]))
    fast = read_file(LAYOUTS["wp_registrations"], path, path.name)
    _same(fast, _line_by_line(monkeypatch, "wp_registrations", path))
    assert [(r.line, r.kind) for r in fast.rejects] == [(2, "unbalanced_quote"), (3, "field_count")]
    assert list(fast.rows["_line"]) == list(range(4, len(lines) + 3))


def test_an_undecodable_line_is_set_aside_alone(samples_dir: Path, tmp_path: Path) -> None:
    sample = next((samples_dir / "wp").glob("*/wp_registrations_*.csv"))
    lines = sample.read_bytes().splitlines(keepends=True)
    path = tmp_path / sample.name
    path.write_bytes(b"".join([lines[0], lines[1].replace(b",", b",\xff", 1), *lines[1:]]))
    parsed = read_file(LAYOUTS["wp_registrations"], path, path.name)
    assert [(r.line, r.kind) for r in parsed.rejects] == [(2, "encoding")]
    assert len(parsed.rows) == len(lines) - 1
