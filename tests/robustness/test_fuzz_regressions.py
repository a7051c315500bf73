"""Programs the fuzzers found crashing the checker: each must now be a located error."""

from __future__ import annotations

import pytest

from qadl.api import loads
from qadl.errors import QadlError

FOUND = {
    "defence method is a number": "defend a with 0 as a\n",
}


@pytest.mark.parametrize("source", FOUND.values(), ids=FOUND.keys())
def test_fuzz_finding_is_a_located_error(source: str) -> None:
    with pytest.raises(QadlError) as caught:
        loads(source, "fuzz.qadl")
    assert all(d.primary.span.file == "fuzz.qadl" for d in caught.value.diagnostics)
