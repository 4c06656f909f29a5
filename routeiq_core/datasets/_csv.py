"""CSV reading with the line on which each record starts (records may span lines)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import DatasetError

__all__ = ["iter_csv", "read_csv_header"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def read_csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return next(csv.reader(fh), [])
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason}); save the CSV as UTF-8") from None


def iter_csv(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """Yield ``(start_line, header, record)`` for every data record after the header."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetError(f"{path}: empty file; expected a header row") from None
        except csv.Error as exc:
            raise DatasetError(f"{path}:1: unreadable CSV header: {exc}") from None
        previous_end = reader.line_num
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise DatasetError(f"{path}:{previous_end + 1}: unreadable CSV: {exc}") from None
            start = previous_end + 1
            previous_end = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            yield start, header, record
