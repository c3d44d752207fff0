import pytest

from jicai.policy.models import PolicyProfile


@pytest.fixture
def profile():
    """Write a PolicyProfile directly (tests of resolution; writes through the action are tested apart)."""

    def make(region=None, batch=None, **values):
        return PolicyProfile.objects.create(region=region, batch=batch, values=values)

    return make
