#!/usr/bin/env python3
"""Browser test of the ClaimFlow supervisor dashboard (GET /dashboard).

Drives Debian's Chromium headless through Debian's chromedriver with Selenium 4:
signs in with a supervisor token, waits for both charts and the work list, saves a
screenshot, filters the list to the coding queue with the page's own controls, and
reassigns the first coding item to TARGET_USER_ID through the page's reassign dialog.

Usage:
    python dashboard_test.py BASE_URL SUPERVISOR_TOKEN TARGET_USER_ID SCREENSHOT_PATH \
        [--chromium /usr/bin/chromium] [--chromedriver /usr/bin/chromedriver]

On success prints one JSON line:
    {"reassigned_encounter_id": "...", "screenshot": "...", "bars": N}
and exits 0. On failure prints the reason to stderr and exits 1.

Everything goes through the page: the script itself never calls the ClaimFlow API.
"""

import argparse
import json
import os
import sys
import time

# Selenium Manager must never fetch a driver or browser: both come from Debian packages.
os.environ.setdefault("SE_OFFLINE", "true")

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("dashboard_test: selenium is not installed (pip install selenium)\n")
    sys.exit(1)

REASON = "Rebalancing the coding queue (dashboard browser test)"


class TestFailure(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Browser test of the ClaimFlow supervisor dashboard.")
    parser.add_argument("base_url", help="ClaimFlow base URL, e.g. http://127.0.0.1:8190")
    parser.add_argument("token", help="a supervisor bearer token")
    parser.add_argument("target_user_id", help="id of a coder to reassign one coding item to")
    parser.add_argument("screenshot", help="where to save the PNG screenshot")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium binary (default: %(default)s)")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver", help="chromedriver binary (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each step (default: %(default)s)")
    parser.add_argument("--window-size", default="1280,800", help="browser window size as W,H (default: %(default)s)")
    return parser.parse_args(argv)


def make_driver(args):
    for path, what in ((args.chromium, "Chromium"), (args.chromedriver, "chromedriver")):
        if not os.access(path, os.X_OK):
            raise TestFailure(f"{what} not found or not executable at {path} (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={args.window_size}"):
        options.add_argument(flag)
    service = Service(executable_path=args.chromedriver)
    return webdriver.Chrome(service=service, options=options)


def wait_for(driver, timeout, what, condition):
    """Waits until condition(driver) is truthy; fails with `what` and any page message."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
    except TimeoutException:
        raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what}{page_message(driver)}") from None


def page_message(driver):
    try:
        text = driver.execute_script(
            "const m = document.getElementById('message');"
            "const e = [...document.querySelectorAll('.field-error')].filter(x => !x.hidden).map(x => x.textContent);"
            "return [m && !m.hidden ? m.textContent.trim() : '', ...e].filter(Boolean).join(' | ');"
        )
    except WebDriverException:
        return ""
    return f" (page says: {text})" if text else ""


def fail_on_page_error(driver):
    kind = driver.execute_script("const m = document.getElementById('message'); return m && !m.hidden ? m.dataset.kind : null;")
    if kind == "error":
        raise TestFailure("the page reported an error" + page_message(driver))


CHART_STATE_JS = """
const bars = (id) => [...document.querySelectorAll('#' + id + ' rect.bar')];
const tall = (list) => list.filter(r => parseFloat(r.getAttribute('height')) > 0).length;
const depth = bars('depth-chart'), aging = bars('aging-chart');
return {
  depthBars: depth.length, depthTall: tall(depth),
  agingBars: aging.length, agingTall: tall(aging),
  rows: document.querySelectorAll('#work-table tbody tr[data-encounter-id]').length,
};
"""


def sign_in_and_wait(driver, args):
    driver.get(args.base_url.rstrip("/") + "/dashboard")
    token_input = wait_for(driver, args.timeout, "the sign-in form (#token)", lambda d: visible(d, "#token"))
    token_input.clear()
    token_input.send_keys(args.token)
    driver.find_element(By.CSS_SELECTOR, "#sign-in").click()

    def ready(d):
        fail_on_page_error(d)
        state = d.execute_script(CHART_STATE_JS)
        ok = state["depthTall"] > 0 and state["agingTall"] > 0 and state["rows"] > 0
        return state if ok else False

    return wait_for(driver, args.timeout, "both charts to draw bars and the work table to fill", ready)


def visible(driver, selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found and found[0].is_displayed() else False


def filter_to_coding(driver, args):
    Select(driver.find_element(By.CSS_SELECTOR, "#filter-queue")).select_by_value("coding")
    driver.find_element(By.CSS_SELECTOR, "#apply-filters").click()

    def filtered(d):
        fail_on_page_error(d)
        return d.execute_script(
            "const t = document.getElementById('work-table');"
            "const rows = [...t.querySelectorAll('tbody tr[data-encounter-id]')];"
            "return new URLSearchParams(t.dataset.query || '').get('queue') === 'coding'"
            "  && rows.length > 0 && rows.every(r => r.dataset.queue === 'coding');"
        )

    wait_for(driver, args.timeout, "the work list to show only coding items", filtered)


def pick_row(driver, target):
    """The first coding row with a reassign button that is not already the target's."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#work-table tbody tr[data-encounter-id]")
    for row in rows:
        if row.get_attribute("data-queue") != "coding":
            continue
        if (row.get_attribute("data-assignee") or "").lower() == target.lower():
            continue
        if row.find_elements(By.CSS_SELECTOR, ".reassign"):
            return row.get_attribute("data-encounter-id")
    raise TestFailure("no coding row on the first page has a Reassign button for another user")


def reassign(driver, args, encounter_id):
    button_selector = f'#work-table tr[data-encounter-id="{encounter_id}"] .reassign'

    def click_reassign(d):
        button = d.find_element(By.CSS_SELECTOR, button_selector)
        d.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.click()
        return True

    wait_for(driver, args.timeout, f"the Reassign button of {encounter_id} to be clickable", click_reassign)
    wait_for(driver, args.timeout, "#reassign-dialog to open", lambda d: d.execute_script("return document.getElementById('reassign-dialog').open;"))

    target = args.target_user_id.lower()

    def target_option(d):
        select = d.find_element(By.CSS_SELECTOR, "#reassign-user")
        for option in select.find_elements(By.TAG_NAME, "option"):
            value = option.get_attribute("value") or ""
            if value.lower() == target:
                return value
        return False

    try:
        value = WebDriverWait(driver, args.timeout, poll_frequency=0.25).until(target_option)
    except TimeoutException:
        offered = driver.execute_script("return [...document.querySelectorAll('#reassign-user option')].map(o => o.value + ' ' + o.textContent);")
        raise TestFailure(f"{args.target_user_id} is not offered in #reassign-user (offered: {offered}){page_message(driver)}") from None
    Select(driver.find_element(By.CSS_SELECTOR, "#reassign-user")).select_by_value(value)
    reason = driver.find_element(By.CSS_SELECTOR, "#reassign-reason")
    reason.clear()
    reason.send_keys(REASON)
    driver.find_element(By.CSS_SELECTOR, "#reassign-submit").click()

    def done(d):
        error = d.execute_script("const e = document.getElementById('reassign-error'); return e && !e.hidden ? e.textContent : null;")
        if error:
            raise TestFailure(f"the page could not reassign {encounter_id}: {error}")
        fail_on_page_error(d)
        return d.execute_script(
            "const m = document.getElementById('message');"
            "return !m.hidden && m.dataset.kind === 'success' && m.dataset.encounterId === arguments[0]"
            "  && !document.getElementById('reassign-dialog').open;",
            encounter_id,
        )

    wait_for(driver, args.timeout, "the page to report the reassignment", done)

    # The page refreshes the list after an action; the row should now carry the new holder.
    wait_for(
        driver,
        args.timeout,
        f"row {encounter_id} to show its new assignee",
        lambda d: d.execute_script(
            "const r = document.querySelector('#work-table tr[data-encounter-id=\"' + arguments[0] + '\"]');"
            "return !!r && (r.dataset.assignee || '').toLowerCase() === arguments[1];",
            encounter_id,
            target,
        ),
    )


def run(args):
    screenshot = os.path.abspath(args.screenshot)
    os.makedirs(os.path.dirname(screenshot) or ".", exist_ok=True)
    driver = make_driver(args)
    try:
        try:
            state = sign_in_and_wait(driver, args)
            if not driver.save_screenshot(screenshot):
                raise TestFailure(f"could not save the screenshot to {screenshot}")
            filter_to_coding(driver, args)
            encounter_id = pick_row(driver, args.target_user_id)
            reassign(driver, args, encounter_id)
        except TestFailure:
            failure_shot = os.path.splitext(screenshot)[0] + "-failure.png"
            try:
                driver.save_screenshot(failure_shot)
                sys.stderr.write(f"dashboard_test: page at failure saved to {failure_shot}\n")
            except WebDriverException:
                pass
            raise
    finally:
        driver.quit()
    return {
        "reassigned_encounter_id": encounter_id,
        "screenshot": screenshot,
        "bars": state["depthBars"] + state["agingBars"],
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    try:
        result = run(args)
    except TestFailure as error:
        sys.stderr.write(f"dashboard_test: FAILED: {error}\n")
        return 1
    except WebDriverException as error:
        sys.stderr.write(f"dashboard_test: FAILED: browser error: {error.msg or error}\n")
        return 1
    print(json.dumps(result))
    sys.stderr.write(f"dashboard_test: passed in {time.monotonic() - started:.1f}s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
