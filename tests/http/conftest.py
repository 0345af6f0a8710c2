import pytest

from hostlib import serve


@pytest.fixture(scope="module")
def default_app():
    """The component with nothing set: what `make up` serves."""
    with serve() as addr:
        yield addr
