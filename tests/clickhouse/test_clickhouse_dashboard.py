"""Every dashboard page renders on the ClickHouse path over the demo site, with the numbers the
embedded path shows (CONTRACT 16: the dashboard's every view answers the same)."""

from __future__ import annotations

import pytest

from data_layer.clickhouse.shipper import Shipper
from data_layer.settings import get_settings
from tests.clickhouse.conftest import url_of
from tests.dashboard.test_dashboard import PAGES, assert_clean, error_details, metrics, run_page, texts

__all__ = ["error_details"]  # the dashboard tests' fixture, used here too (autouse)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize("page", [page for page in PAGES if page != "app_pages/session.py"])
def test_every_page_renders_the_same_numbers_from_clickhouse(
    demo_site, engine, clickhouse_target, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    embedded = run_page(page)
    assert_clean(embedded)
    Shipper(engine, clickhouse_target).ship()
    monkeypatch.setenv("HEATMAPS_CLICKHOUSE_URL", url_of(clickhouse_target))
    get_settings.cache_clear()
    ours = run_page(page)
    assert_clean(ours)
    assert metrics(ours) == metrics(embedded)
    assert texts(ours) == texts(embedded)
    assert "events yet" not in texts(ours), "the demo site is shown, not an empty database"
