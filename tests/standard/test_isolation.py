"""Work in a memory-limited child process: its answer (as data) or its failure come back; its death, whatever
the cause (a native abort included), is a ChildDied here and this process goes on."""
import io
import os
import time

import pytest

from datetime import date, datetime, timedelta

from portal.standard.isolation import ChildDied, ChildFailed, ResultTooLarge, run_in_child
from portal.standard.workbook import CERT_SHEET, template_workbook_bytes
from tests.standard.factories import inline_cell, with_rows

MB = 1024 * 1024


def _answer(a, b):
    return {"sum": a + b, "pid": os.getpid(), "cells": [date(2025, 6, 1), datetime(2025, 6, 1, 8, 30),
                                                         timedelta(hours=1), 1.5, "文字", None, True]}


def _a_pickle_would_run_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))
    return Evil()


def _refuse(message):
    raise ValueError(message)


def _abort():
    os.abort()


def _allocate(megabytes):
    return len(bytearray(megabytes * MB))


def _allocate_text(length):
    return "x" * length


def _sleep(seconds):
    time.sleep(seconds)


def _read_with_calamine(data):
    from python_calamine import CalamineWorkbook
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(CERT_SHEET)
    return sheet.height


def test_the_answer_comes_back_from_another_process_as_data():
    answer = run_in_child(_answer, 2, 3, memory_bytes=900 * MB, timeout=60)
    assert answer["sum"] == 5 and answer["pid"] != os.getpid()
    assert answer["cells"] == [date(2025, 6, 1), datetime(2025, 6, 1, 8, 30), timedelta(hours=1), 1.5, "文字", None,
                               True]


def test_only_data_comes_back_never_an_object_that_could_run_code():
    with pytest.raises(ChildFailed) as info:
        run_in_child(_a_pickle_would_run_code, memory_bytes=900 * MB, timeout=60)
    assert info.value.kind == "TypeError" and "cannot leave the child" in info.value.message


def test_an_exception_in_the_child_is_reported_here():
    with pytest.raises(ChildFailed) as info:
        run_in_child(_refuse, "no good", memory_bytes=900 * MB, timeout=60)
    assert (info.value.kind, info.value.message) == ("ValueError", "no good")


def test_an_answer_larger_than_accepted_is_refused():
    with pytest.raises(ResultTooLarge) as info:
        run_in_child(_allocate_text, 2000, memory_bytes=900 * MB, timeout=60, max_result_bytes=1000)
    assert info.value.size > 2000


def test_a_native_abort_ends_only_the_child():
    with pytest.raises(ChildDied) as info:
        run_in_child(_abort, memory_bytes=900 * MB, timeout=60)
    assert info.value.reason == "died" and info.value.exitcode == -6  # SIGABRT
    assert run_in_child(_answer, 1, 1, memory_bytes=900 * MB, timeout=60)["sum"] == 2


def test_calamine_asking_for_a_huge_grid_dies_in_the_child_not_here():
    # the 22 KB workbook: one cell at XFD1048576 makes calamine request 512 GB and abort natively
    bomb = with_rows(template_workbook_bytes(), CERT_SHEET, f'<row r="1048576">{inline_cell("XFD1048576", "x")}</row>')
    assert len(bomb) < 30_000
    with pytest.raises(ChildDied):
        run_in_child(_read_with_calamine, bomb, memory_bytes=900 * MB, timeout=60)
    assert run_in_child(_read_with_calamine, template_workbook_bytes(), memory_bytes=900 * MB, timeout=60) == 2


def test_the_memory_limit_holds_in_the_child():
    with pytest.raises(ChildFailed) as info:
        run_in_child(_allocate, 1200, memory_bytes=900 * MB, timeout=60)
    assert info.value.kind == "MemoryError"
    assert run_in_child(_allocate, 100, memory_bytes=900 * MB, timeout=60) == 100 * MB


def test_a_child_over_its_time_is_killed():
    started = time.monotonic()
    with pytest.raises(ChildDied) as info:
        run_in_child(_sleep, 30, memory_bytes=900 * MB, timeout=1)
    assert info.value.reason == "timeout" and time.monotonic() - started < 15
