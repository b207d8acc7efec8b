"""The hostile lab as a fixture: ``@pytest.mark.parametrize("hostile_lab", ["html"], indirect=True)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evodiag.lab.hostile import HostileLab, start_hostile_lab


@pytest.fixture
def hostile_lab(request: pytest.FixtureRequest) -> Iterator[HostileLab]:
    with start_hostile_lab(request.param) as lab:
        yield lab
