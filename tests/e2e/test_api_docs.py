"""The API docs page works offline and under the Content Security Policy."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_the_schema_from_our_own_origin(page, screenshot, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Customer-service operations platform API" in page.inner_text(".info .title")
    page.wait_for_selector("text=/api/v1/tickets/")
    screenshot("api-docs")
    assert [url for url in requested if not url.startswith(live_server.url)] == []
