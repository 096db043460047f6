#!/usr/bin/python3
"""The dashboard (/ui/) in a real headless browser: Debian's chromium and
chromedriver, driven by Selenium. muster-host runs as an agent on a
nats-server of the test's own (so it can be killed), with registrations
made by other muster-host processes.

Checked: the headers (CSP, nosniff), no console error, a registration in
another process shown within 2 s without a reload, a deregistration gone,
a check turned critical shown as critical (in words), hostile metadata
shown as text, the filter and the URL of the open role, the keyboard, a
phone-sized window that never scrolls sideways, the page sends only
GETs, the only backend killed shows the page stale, the agent killed and
started again resyncs the page, and a read token asked for and kept in
the tab only. Writes a screenshot (--screenshot PATH; docs/images/ is
made from it).

Exit 77 (skipped) without chromium, chromedriver or Selenium.
"""
import argparse
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("skipped: python3-selenium is not installed")
    sys.exit(77)

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    print("skipped: chromium and chromium-driver are not installed")
    sys.exit(77)

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = os.environ["MUSTER_HOST"]
WRITE_TOKEN = "write-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
WORK = tempfile.mkdtemp(prefix="muster-dashboard.")
procs = {}


def fail(message):
    print("FAIL: " + message)
    for name in sorted(os.listdir(WORK)):
        if name.endswith(".log"):
            with open(os.path.join(WORK, name), errors="replace") as f:
                print("--- " + name + "\n" + f.read()[-4000:])
    raise SystemExit(1)


def ok(message):
    print("ok: " + message, flush=True)


def free_port():
    return int(subprocess.check_output(["sh", os.path.join(SOURCE, "scripts/free-port.sh")]).decode())


def start(name, *args):
    log = open(os.path.join(WORK, name + ".log"), "w")
    procs[name] = subprocess.Popen([HOST, *args], stdout=log, stderr=subprocess.STDOUT)
    return procs[name]


def stop(name, sig=signal.SIGTERM):
    p = procs.pop(name)
    p.send_signal(sig)
    p.wait(20)


def wait_until(what, predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except Exception:  # a page mid-render, an agent not up yet
            pass
        time.sleep(0.05)
    fail(what + " (waited %g s)" % seconds)


def logged(name, text):
    with open(os.path.join(WORK, name + ".log"), errors="replace") as f:
        return text in f.read()


def http(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def browser(width=1280, height=860):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height), "--user-data-dir=" + tempfile.mkdtemp(dir=WORK)):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=os.path.join(WORK, "chromedriver.log")),
                            options=o)


def console_errors(d):
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE"]


def text(d, css):
    return " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, css))


def role_row(d, role):
    """The roles table's row of `role` as "N passing N warning ...", each
    count as its cell's label says it, or "" when the role is not shown."""
    for tr in d.find_elements(By.CSS_SELECTOR, "#roles tbody tr"):
        if tr.find_element(By.CSS_SELECTOR, "td.role").text == role:
            return " ".join(td.get_attribute("aria-label") for td in tr.find_elements(By.CSS_SELECTOR, "td[data-health]"))
    return ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot", help="also write the dashboard's screenshot here")
    args = parser.parse_args()

    nats_dir = os.path.join(WORK, "nats")
    os.mkdir(nats_dir)
    subprocess.check_call(["sh", os.path.join(SOURCE, "scripts/nats-start.sh"), nats_dir], stdout=subprocess.DEVNULL)
    env = dict(line.split("=", 1) for line in open(os.path.join(nats_dir, "env")).read().split("\n") if "=" in line)
    nats_url = env["MUSTER_TEST_NATS_URL"].strip("'")
    store = ["--chain", "nats-kv", "--backend-option", "nats-kv.url=" + nats_url, "--backend-option",
             "nats-kv.bucket=dashboard", "--heartbeat-interval", "500ms"]
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    agent = ["run", "--http", str(port), "--http-token", WRITE_TOKEN, *store]
    start("agent", *agent)
    wait_until("the agent did not listen", lambda: logged("agent", "HTTP API on"), 15)
    start("router", "run", "--role", "router", "--address", "10.0.0.1:80", "--meta", "zone=a", *store)
    start("querier", "run", "--role", "querier", "--address", "10.0.0.2:80", *store)
    start("querier2", "run", "--role", "querier", "--address", "10.0.0.3:80", "--meta", "zone=b", *store)
    wait_until("the registrations did not reach the agent",
               lambda: len(json.loads(http(base + "/v1/roles/querier")[2])["instances"]) == 2, 15)

    # The headers, before any browser.
    status, headers, body = http(base + "/ui/")
    csp = headers.get("Content-Security-Policy", "")
    if status != 200 or "default-src 'none'" not in csp or "script-src 'self'" not in csp or "<script" not in body:
        fail("/ui/ is not the page with its policy: %d %s" % (status, csp))
    if "unsafe-inline" in csp or headers.get("X-Content-Type-Options") != "nosniff":
        fail("the policy allows inline script, or sniffing is on: " + str(headers))
    if re.search(r"<script(?![^>]*\bsrc=)", body) or re.search(r"\son[a-z]+\s*=", body):
        fail("the page has an inline script or an event handler attribute")
    if http(base + "/ui/../../etc/passwd")[0] != 404 or http(base + "/ui/nope.js")[0] != 404:
        fail("a file the dashboard does not hold was not a 404")
    ok("/ui/ has a Content-Security-Policy allowing nothing from elsewhere, nosniff, no inline script")

    d = browser()
    try:
        d.get(base + "/ui/")
        wait_until("the roles did not show", lambda: role_row(d, "router") and "2 passing" in role_row(d, "querier"), 10)
        if text(d, "#connection") != "live":
            fail("the page is not live: " + text(d, "#connection"))
        errors = console_errors(d)
        if errors:
            fail("console errors: %s" % errors)
        ok("the page loads with every role and its counts, live, with no console error")

        # A registration in another process, without a reload.
        d.execute_script("window.notReloaded = true")
        start("writer", "run", "--role", "writer", "--address", "10.0.0.4:80", *store)
        wait_until("the writer did not register", lambda: logged("writer", "registered writer"), 15)
        t0 = time.monotonic()
        wait_until("the new writer did not show within 2 s", lambda: "1 passing" in role_row(d, "writer"), 2)
        shown_ms = (time.monotonic() - t0) * 1000
        if not d.execute_script("return window.notReloaded === true"):
            fail("the page was reloaded")
        ok("a registration in another process shows %.0f ms after it was written, without a reload" % shown_ms)

        # Opening a role: by keyboard, and the URL says which.
        link = d.find_element(By.LINK_TEXT, "writer")
        link.send_keys(Keys.ENTER)
        wait_until("the writer's instances did not open", lambda: "10.0.0.4:80" in text(d, "#instances tbody"), 5)
        if not d.current_url.endswith("#role=writer"):
            fail("the URL does not say which role is open: " + d.current_url)
        ok("a role opens from the keyboard; the URL (%s) names it" % d.current_url.split("/ui/")[1])

        # A deregistration disappears.
        stop("writer")
        t0 = time.monotonic()
        wait_until("the deregistered writer still shows", lambda: role_row(d, "writer") == "", 5)
        wait_until("the writer's instance still shows", lambda: "10.0.0.4" not in text(d, "#instances tbody"), 2)
        ok("a deregistration disappears after %.0f ms" % ((time.monotonic() - t0) * 1000))

        # A check turned critical, and metadata that tries to be HTML.
        put = urllib.request.Request(base + "/v1/instances", method="PUT", headers={
            "Authorization": "Bearer " + WRITE_TOKEN}, data=json.dumps({
                "role": "acceptor", "address": "10.0.0.9:80",
                "metadata": {"zone": "a", "note": "<img src=x id=injected>"}}).encode())
        acceptor = json.loads(urllib.request.urlopen(put, timeout=10).read())["id"]
        d.get(base + "/ui/#role=acceptor")
        wait_until("the acceptor did not show passing", lambda: "1 passing" in role_row(d, "acceptor"), 5)
        health = urllib.request.Request(base + "/v1/instances/%s/health" % acceptor, method="PUT", headers={
            "Authorization": "Bearer " + WRITE_TOKEN}, data=b'{"status": "critical", "reason": "disk full"}')
        urllib.request.urlopen(health, timeout=10).read()
        wait_until("the critical check did not show as critical",
                   lambda: "1 critical" in role_row(d, "acceptor") and "critical" in text(d, "#instances tbody")
                   and "disk full" in text(d, "#instances tbody"), 5)
        if d.find_elements(By.ID, "injected") or "<img src=x id=injected>" not in text(d, "#instances tbody"):
            fail("metadata was not shown as text")
        ok("a check turned critical shows as '1 critical' and 'critical: disk full'; metadata HTML shows as text")

        # A drained instance counts as drained.
        drained = json.loads(http(base + "/v1/roles/router")[2])["instances"][0]["id"]
        subprocess.check_call([HOST, "drain", "--id", drained, *store], stdout=subprocess.DEVNULL)
        wait_until("the drained router did not count as drained", lambda: "1 drained" in role_row(d, "router"), 5)
        ok("a drained instance counts as drained")

        # The filter.
        d.find_element(By.TAG_NAME, "body").send_keys("/")
        if d.switch_to.active_element.get_attribute("id") != "filter":
            fail("'/' did not focus the filter")
        d.switch_to.active_element.send_keys("10.0.0.3")
        wait_until("the filter did not keep the role of 10.0.0.3 alone",
                   lambda: [r.text.split()[0] for r in d.find_elements(By.CSS_SELECTOR, "#roles tbody tr")] ==
                   ["querier"], 3)
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait_until("Escape did not clear the filter", lambda: role_row(d, "router") != "", 3)
        ok("'/' focuses the filter; it keeps the roles holding a match; Escape clears it")

        d.get(base + "/ui/#role=querier")
        wait_until("the querier did not open", lambda: "10.0.0.3:80" in text(d, "#instances tbody"), 5)
        wait_until("the chain did not show", lambda: "nats-kv" in text(d, "#chain tbody"), 5)
        d.execute_script("document.activeElement.blur()")
        shot = os.path.join(WORK, "dashboard.png")
        d.save_screenshot(shot)
        if args.screenshot:
            shutil.copyfile(shot, args.screenshot)
        ok("screenshot written" + (" to " + args.screenshot if args.screenshot else ""))

        # A phone: nothing scrolls sideways.
        d.set_window_size(390, 844)
        wait_until("the page scrolls sideways on a phone-sized window", lambda: d.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"), 3)
        d.set_window_size(1280, 860)
        ok("a 390 px wide window does not scroll sideways")

        errors = console_errors(d)
        if errors:
            fail("console errors: %s" % errors)
        methods = set()
        for entry in d.get_log("performance"):
            m = json.loads(entry["message"])["message"]
            if m["method"] == "Network.requestWillBeSent":
                methods.add(m["params"]["request"]["method"])
        if methods != {"GET"}:
            fail("the page sent other requests than GET: %s" % methods)
        ok("the page sent GET requests only, and logged no console error")

        # The only backend killed: stale; back: live.
        subprocess.check_call(["sh", "-c", env["MUSTER_TEST_NATS_KILL"].strip("'")])
        t0 = time.monotonic()
        wait_until("the page did not show stale with its only backend killed",
                   lambda: text(d, "#connection") == "stale" and "Stale" in text(d, "#banner"), 20)
        if "10.0.0.3:80" not in text(d, "#instances tbody"):
            fail("the stale page lost what it showed")
        ok("the only backend killed: the page says stale after %.1f s, and keeps showing the last state"
           % (time.monotonic() - t0))
        subprocess.check_call(["sh", "-c", env["MUSTER_TEST_NATS_START"].strip("'")])
        wait_until("the page did not come back live with its backend", lambda: text(d, "#connection") == "live", 30)
        ok("the backend back: the page is live again")

        # The agent killed and started again: the page reconnects and
        # resyncs what changed meanwhile.
        stop("agent", signal.SIGKILL)
        wait_until("the page did not notice the agent gone", lambda: text(d, "#connection") == "reconnecting", 10)
        stop("querier2")
        start("late", "run", "--role", "late", "--address", "10.0.0.7:80", *store)
        wait_until("the late one did not register", lambda: logged("late", "registered late"), 15)
        start("agent", *agent)
        wait_until("the page did not resync after the agent came back",
                   lambda: text(d, "#connection") == "live" and "1 passing" in role_row(d, "late")
                   and "1 passing" in role_row(d, "querier"), 20)
        ok("the agent killed and back: the page reconnected and resynced (a role added, an instance gone meanwhile)")
    finally:
        d.quit()

    # Reads behind a token: asked for, kept in the tab, never in the URL.
    stop("agent")
    start("agent", *agent, "--http-read-token", READ_TOKEN)
    wait_until("the agent did not listen", lambda: logged("agent", "HTTP API on"), 15)
    codes = [http(base + "/v1/status")[0], http(base + "/v1/status", READ_TOKEN)[0],
             http(base + "/v1/status", WRITE_TOKEN)[0], http(base + "/v1/status", "wrong-token-0123456789")[0],
             http(base + "/metrics")[0], http(base + "/healthz")[0], http(base + "/ui/")[0]]
    if codes != [401, 200, 200, 403, 401, 200, 200]:
        fail("reads with a read token: /v1/status without, with it, with the write token, wrong; /metrics, "
             "/healthz, /ui/ without: %s" % codes)
    ok("with a read token: reads need it (or the write token); /healthz and /ui/ do not")
    d = browser()
    try:
        d.get(base + "/ui/")
        wait_until("the page did not ask for the token", lambda: d.find_element(By.ID, "token").is_displayed(), 10)
        if d.find_element(By.ID, "main").is_displayed() or console_errors(d):
            fail("the page showed data or logged an error before the token: %s" % console_errors(d))
        d.find_element(By.ID, "token").send_keys("wrong-token-0123456789", Keys.ENTER)
        wait_until("a wrong token was not refused", lambda: "did not take" in text(d, "#login-problem"), 10)
        d.find_element(By.ID, "token").send_keys(READ_TOKEN, Keys.ENTER)
        wait_until("the roles did not show with the token", lambda: role_row(d, "router") != "", 10)
        if READ_TOKEN in d.current_url or d.execute_script("return localStorage.length") != 0:
            fail("the token is in the URL or in localStorage")
        if d.execute_script("return sessionStorage.getItem('muster.read-token')") != READ_TOKEN:
            fail("the token is not kept in the tab")
        d.refresh()
        wait_until("a reload in the tab asked for the token again", lambda: role_row(d, "router") != "", 10)
        ok("the page asks for the read token, refuses a wrong one, keeps the right one for the tab only")
    finally:
        d.quit()
    d = browser()
    try:
        d.get(base + "/ui/")
        wait_until("a new browser did not ask for the token", lambda: d.find_element(By.ID, "token").is_displayed(), 10)
        ok("a new browser asks again")
    finally:
        d.quit()


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
        pid_file = os.path.join(WORK, "nats", "pid")
        if os.path.exists(pid_file):
            subprocess.call(["sh", os.path.join(WORK, "nats", "stop.sh"), "KILL"])
        shutil.rmtree(WORK, ignore_errors=True)
