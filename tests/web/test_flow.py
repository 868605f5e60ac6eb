"""The six steps in a real browser against a real server and a real checkpoint:
upload a dataset and checkpoints, watch the analysis finish, then chart, error type,
grid, layer-wise heatmaps and the epoch slider; finally reopen the copied address in
a fresh browser context and find the same view."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANALYSIS_TIMEOUT_MS = 8 * 60_000
HEATMAP_TIMEOUT_MS = 5 * 60_000


def query(page: Page) -> dict[str, str]:
    return query_of(page.url)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def wait_params(page: Page, **expected: str) -> None:
    """Waits until the address holds these search params (navigation is async)."""
    page.wait_for_url(
        lambda url: all(query_of(url).get(k) == v for k, v in expected.items()),
        timeout=10_000,
    )


def watch_console(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def wait_no_pending_maps(page: Page) -> None:
    wait = HEATMAP_TIMEOUT_MS
    expect(page.get_by_test_id("map-ready").first).to_be_visible(timeout=wait)
    expect(page.get_by_test_id("map-pending")).to_have_count(0, timeout=wait)


def test_upload_analyse_and_browse_six_steps(
    server, browser, dataset_zip, tiny_checkpoints, architecture, shots
):
    EPOCHS = len(tiny_checkpoints)
    base, token = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems = watch_console(page)

    # Step 1: the token arrives in the fragment, is stored and leaves the address.
    page.goto(f"{base}/#token={token}")
    expect(page.get_by_text("No runs yet")).to_be_visible()
    assert "token" not in page.url
    assert page.evaluate("localStorage.getItem('tidelens.token')") == token

    page.get_by_test_id("dataset-input").set_input_files(str(dataset_zip))
    page.get_by_role("button", name="Upload dataset").click()
    created = page.get_by_text(re.compile(r"created: \d+ images"))
    expect(created).to_be_visible(timeout=60_000)

    page.get_by_placeholder("frcnn-bccd-lr0.01").fill("tiny-bccd")
    page.get_by_label("architecture").select_option(architecture)
    page.get_by_role("button", name="Create run").click()
    expect(page.get_by_role("link", name="tiny-bccd").first).to_be_visible()

    files = [str(p) for p in tiny_checkpoints]
    page.get_by_test_id("checkpoint-input").set_input_files(files)
    epochs = [
        page.get_by_label(f"epoch for {p.name}").input_value() for p in tiny_checkpoints
    ]
    assert epochs == [str(e) for e in range(1, EPOCHS + 1)]
    page.get_by_role("button", name=re.compile(r"Upload \d+ checkpoints?")).click()
    expect(page.locator("[data-testid=upload-row][data-state=done]")).to_have_count(
        EPOCHS, timeout=120_000
    )
    shots(page, "1-runs-jobs-running")
    expect(page.locator("[data-testid=job-row][data-state=succeeded]")).to_have_count(
        EPOCHS, timeout=ANALYSIS_TIMEOUT_MS
    )
    expect(page.locator("[data-testid=job-row][data-state=failed]")).to_have_count(0)
    shots(page, "1-runs-jobs-done")

    # Step 2: error evolution. Toggles and legend state go to the address.
    page.get_by_role("link", name="tiny-bccd").first.click()
    chart = page.get_by_test_id("error-chart")
    expect(chart.locator(".recharts-surface").first).to_be_visible()
    expect(page).to_have_url(re.compile(rf"epoch={EPOCHS}"))
    page.get_by_role("button", name="Lines").click()
    page.get_by_role("button", name="dAP").click()
    wait_params(page, chart="lines", metric="dap")
    page.locator(".recharts-legend-item", has_text="Duplicate").click()
    wait_params(page, hidden="Dupe")
    page.get_by_role("button", name="Counts").click()
    page.get_by_role("button", name="Stacked area").click()
    # Clicking over the first epoch of the chart selects it.
    box = chart.locator(".recharts-cartesian-grid").bounding_box()
    page.mouse.click(box["x"] + 4, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(r"epoch=1(&|$)"))
    shots(page, "2-error-evolution")

    # Step 3: the type with the most errors at this epoch drives the grid.
    counts = {
        b.get_attribute("data-type"): int(b.locator(".count").inner_text())
        for b in page.get_by_role("radio").all()
    }
    chosen = max(counts, key=counts.get)
    assert counts[chosen] > 0, f"no errors at epoch 1: {counts}"
    page.locator(f"[data-type={chosen}]").click()
    wait_params(page, type=chosen)
    shots(page, "3-type-selected")

    # Step 4: the grid lists that type's errors; hover shows the details.
    cards = page.get_by_test_id("error-card")
    expect(cards.first).to_be_visible()
    expect(page.get_by_text(f"{counts[chosen]} {chosen} errors")).to_be_visible()
    cards.first.hover()
    expect(cards.first.locator(".hover-info")).to_be_visible()
    expect(cards.first.locator("rect").first).to_be_attached()
    shots(page, "4-grid-hover")
    cards.first.click()

    # Step 5: the layer row fills in as the maps are computed.
    expect(page).to_have_url(re.compile(r"/images/\d+\?.*target=(det|gt)"))
    state = query(page)
    assert state["epoch"] == "1" and state["type"] == chosen
    expect(page.get_by_test_id("layer-row").locator("figure")).to_have_count(4)
    wait_no_pending_maps(page)
    expect(page.locator("button.target.sel")).to_have_count(1)
    page.get_by_role("button", name="Shared scale").click()
    page.get_by_label("opacity").fill("0.7")
    wait_params(page, scale="shared", opacity="0.7")
    shots(page, "5-layers")

    # Step 6: every epoch reachable by keyboard; the strip shows one cell per epoch.
    expect(page.get_by_test_id("trajectory").locator("button")).to_have_count(EPOCHS)
    slider = page.get_by_label("epoch slider")
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"epoch={EPOCHS}(&|$)"))
    page.get_by_label("epoch number").fill("1")
    page.get_by_label("epoch number").press("Enter")
    expect(page).to_have_url(re.compile(r"epoch=1(&|$)"))
    page.keyboard.press("Tab")
    slider.focus()
    page.keyboard.press("End")
    expect(page).to_have_url(re.compile(rf"epoch={EPOCHS}(&|$)"))
    wait_no_pending_maps(page)
    shots(page, "6-epoch-slider")
    assert not problems, problems

    # A copied link opens the same view in a browser that has never seen the app.
    link = page.url
    target = query(page)["target"]
    expect(page.get_by_test_id("current-target")).to_have_text(target)
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = fresh.new_page()
    other_problems = watch_console(other)
    other.goto(link)
    expect(other.get_by_test_id("current-target")).to_have_text(target)
    assert query(other) == query(page)
    shared = other.get_by_role("button", name="Shared scale")
    expect(shared).to_have_attribute("aria-pressed", "true")
    expect(other.get_by_label("epoch number")).to_have_value(str(EPOCHS))
    wait_no_pending_maps(other)
    shots(other, "7-deep-link-fresh-context")
    assert not other_problems, other_problems
    fresh.close()
    context.close()
