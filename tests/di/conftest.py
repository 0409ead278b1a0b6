"""Every container test runs on both resolution tiers: graph-walking and compiled."""

import pytest

from portside.di import ServiceCollection, ServiceProvider


@pytest.fixture(autouse=True, params=["walked", "compiled"])
def resolution_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make ``build()`` produce a provider on one tier for the whole test."""
    compiled: bool | None = request.param == "compiled"
    original = ServiceCollection.build

    def build(self: ServiceCollection, *, compiled: bool | None = compiled) -> ServiceProvider:
        return original(self, compiled=compiled)

    monkeypatch.setattr(ServiceCollection, "build", build)
    return str(request.param)
