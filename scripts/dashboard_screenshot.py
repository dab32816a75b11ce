"""Take docs/dashboard-batch.png: the demo batch's page after a Download File (needs serve + worker running).

Usage: python scripts/dashboard_screenshot.py URL TOKEN [OUT]
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else "docs/dashboard-batch.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(base_url=url, viewport={"width": 1100, "height": 1500})
        page.set_default_timeout(120_000)
        page.goto("/dashboard/batches/batch-demo-main")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/batches/batch-demo-main")
        page.get_by_role("button", name="Download File: Progress report").click()
        page.locator('tr[data-dataset="progress-exhaust"][data-status="SUCCESS"]').wait_for()
        page.goto("/dashboard/batches/batch-demo-main")
        page.screenshot(path=out, full_page=False)
        browser.close()


if __name__ == "__main__":
    main()
