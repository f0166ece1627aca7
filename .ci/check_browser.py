#!/usr/bin/env python3
"""Check the built book in a real browser (headless Chromium driven by Selenium).

Usage:
    python .ci/check_browser.py --html-dir _build/html --screenshots _build/screenshots
                                [--no-download-check]

The site in --html-dir is served on 127.0.0.1 (a free port) and every page of it is
opened, one after the other, in one headless Chromium. The machine may be offline:
Chromium is started with everything that phones home turned off. On every page:

 1. Console: no SEVERE console message (a JavaScript error, a file that failed to
    load), except the few in CONSOLE_ALLOWLIST below.
 2. Network: every request goes to the local server (or is data:, blob:, about:,
    chrome:).
    No page loads anything from the network (a CDN, fonts, analytics).
 3. Images: every <img> has loaded (lazy images are forced to load first). An image
    in a cell output sits in a <figure> whose <figcaption> carries a number
    ("Fig. 5.2") and has real alt text: not empty, not a file hash, not a file name.
 4. Legibility: every figure image is shown at >= 75 % of its natural width (the
    house style has no text under 9 pt = 12 px at natural size, so >= 9 px on screen).
 5. Maths: MathJax is served by the site itself and finishes typesetting within
    MATHJAX_TIMEOUT_S; afterwards no raw TeX (\\( \\[ $$ \\frac ...) is left in the
    article's text outside <pre>/<code>, and no formula shows a TeX error.
 6. Width: the page does not scroll sideways, and every <table> and <pre> of the
    article fits the article's column, or sits in a box that scrolls sideways
    (overflow-x auto/scroll) and fits the column itself.
 7. Solutions (sphinx-exercise + sphinx-togglebutton): every solution starts
    collapsed; clicking the header of the first one (not a link in it) opens it
    without leaving the page; a solution header holds no link.
 8. Internal links: every link to a page of the site points to a file that exists
    and, when it has a #fragment, to an element with that id in that file.
 9. Download: the intro page and every chapters/*.html page have a link
    a.regcourse-download to an existing .zip file (skip with --no-download-check).
Once per run:
10. Search: search.html?q=dropout lists results, one of them chapters/05_dropout.html.
11. Screenshots: full pages, 1366 px wide, of the pages in SCREENSHOT_PAGES, taken
    after MathJax has finished, are saved as PNG files into --screenshots.

Exits 0 when everything holds, 1 otherwise, listing every problem found (page, what,
a short excerpt), then a summary.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1366, 900  # a common laptop screen
MAX_SCREENSHOT_HEIGHT = 16000  # px; longer pages are cut there
MATHJAX_TIMEOUT_S = 20
MIN_DISPLAY_RATIO = 0.75  # shown width / natural width of a figure image

# Pages that are not opened: the index of terms, Sphinx's redirect to intro.html, and
# the search page (opened once, with a query, by check 10). Folders of internals.
SKIP_PAGES = {"genindex.html", "index.html", "search.html"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}
SCREENSHOT_PAGES = ("intro.html", "chapters/02_l2_weight_decay.html", "chapters/05_dropout.html")
SEARCH_QUERY, SEARCH_EXPECTED = "dropout", "chapters/05_dropout.html"

# SEVERE console messages that are not a problem of the site: (regex, why).
# Keep this list as short as possible; every entry hides a class of real errors.
CONSOLE_ALLOWLIST: list[tuple[str, str]] = [
    # pydata-sphinx-theme logs this on a visitor's very first page (empty localStorage:
    # its own head script stores mode "" and its JavaScript then resets it to "auto").
    # Not a fault of the book; gone if _config.yml sets sphinx.config.html_context
    # {default_mode: auto}, after which this entry can be removed.
    (r"Got invalid theme mode: \. Resetting to auto", "theme, first visit only"),
    # Chromium asks every site for /favicon.ico on its own; the book declares no favicon,
    # so the first page may log this 404. Pages never link to it.
    (r"^/favicon\.ico - Failed to load resource", "browser's own favicon request"),
]
# URL schemes that never reach the network: inline data, in-page objects, blank pages,
# and chrome:// (Chromium's own built-in pages, such as the new-tab page at start-up).
LOCAL_SCHEMES = ("data", "blob", "about", "chrome")

# Raw TeX in the text of a page: math delimiters, or a TeX command such as \frac.
RAW_TEX = r"\\\(|\\\)|\\\[|\\\]|\$\$|\\[A-Za-z]{2,}"
HASH_ALT = re.compile(r"[0-9a-f]{64}")
FILE_ALT = re.compile(r"(^|/)[\w.-]+\.(png|svg|jpe?g|gif|webp|pdf)$", re.IGNORECASE)
FIG_NUMBER = re.compile(r"\b(Fig\.|Figure)\s*\d+(\.\d+)*")


@dataclass
class Report:
    """Problems found so far, and counts for the summary."""

    problems: list[str] = field(default_factory=list)
    pages: int = 0
    images: int = 0
    formulas: int = 0
    tables: int = 0
    scrolled_tables: int = 0
    code_blocks: int = 0
    solutions: int = 0
    links: int = 0
    worst_ratio: tuple[float, str] = (float("inf"), "")

    def add(self, page: str, what: str, excerpt: str = "") -> None:
        excerpt = " ".join(str(excerpt).split())
        if len(excerpt) > 140:
            excerpt = excerpt[:137] + "..."
        self.problems.append(f"{page}: {what}" + (f": «{excerpt}»" if excerpt else ""))


# --------------------------------------------------------------------------- server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site's files without logging every request to the terminal."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(html_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve html_dir on 127.0.0.1 on a free port, in a background thread."""
    handler = functools.partial(QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --------------------------------------------------------------------------- browser


def start_browser(profile_dir: str) -> webdriver.Chrome:
    """Headless Chromium with nothing that reaches out to the network on its own."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={WIDTH},{HEIGHT}",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # Only network events in the performance log: that is all check 2 reads.
    options.add_experimental_option(
        "perfLoggingPrefs", {"enableNetwork": True, "enablePage": False}
    )
    # A path in Service means Selenium Manager is never run (it would download drivers).
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(MATHJAX_TIMEOUT_S + 5)
    driver.get("about:blank")
    return driver


def drain_logs(driver: webdriver.Chrome) -> None:
    """Forget the log entries so far, so that the next ones belong to the next page."""
    driver.get_log("browser")
    driver.get_log("performance")


def check_logs(driver: webdriver.Chrome, page: str, origin: str, report: Report) -> None:
    """Checks 1 and 2: SEVERE console messages, requests that leave the local server."""
    for entry in driver.get_log("browser"):
        message = entry["message"].replace(origin, "")
        if entry["level"] != "SEVERE":
            continue
        if any(re.search(pattern, message) for pattern, _why in CONSOLE_ALLOWLIST):
            continue
        report.add(page, "console error", message)
    outside = []
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        if event["method"] != "Network.requestWillBeSent":
            continue
        url = event["params"]["request"]["url"]
        local = url.startswith(origin + "/") or url.split(":")[0] in LOCAL_SCHEMES
        if not local and url not in outside:
            outside.append(url)
    for url in outside:
        report.add(page, "request to the network (only the local site may be loaded)", url)


# JavaScript that makes lazy images load and reports whether all images are done.
LOAD_IMAGES_JS = """
for (const img of document.images) { img.loading = 'eager'; }
return Array.from(document.images).every(img => img.complete);
"""


def wait_for_images(driver: webdriver.Chrome, timeout_s: float = 10) -> None:
    """Force lazy images to load, wait (up to timeout_s) until every image is done."""
    end = time.monotonic() + timeout_s
    while not driver.execute_script(LOAD_IMAGES_JS) and time.monotonic() < end:
        time.sleep(0.1)


MATHJAX_STATE_JS = """
const scripts = Array.from(document.scripts).map(s => s.src)
    .filter(src => /mathjax/i.test(src));
const mj = window.MathJax;
return {scripts: scripts, origin: location.origin,
        formulas: document.querySelectorAll('.math, mjx-container').length,
        started: !!(mj && mj.startup && mj.startup.promise)};
"""
MATHJAX_WAIT_JS = """
const done = arguments[arguments.length - 1];
const timer = setTimeout(() => done('timeout'), arguments[0] * 1000);
MathJax.startup.promise.then(() => { clearTimeout(timer); done('ok'); },
                             err => { clearTimeout(timer); done('error: ' + err); });
"""


def wait_for_mathjax(driver: webdriver.Chrome, page: str, report: Report) -> None:
    """Check 5, first half: MathJax is the site's own copy and finishes typesetting."""
    state = driver.execute_script(MATHJAX_STATE_JS)
    if not state["scripts"]:
        if state["formulas"]:
            report.add(page, "page has formulas but loads no MathJax")
        return
    for src in state["scripts"]:
        if not src.startswith(state["origin"] + "/"):
            report.add(page, "MathJax is not served by the site itself", src)
    # The page has loaded, so its MathJax script has run, unless it could not be loaded
    # (offline CDN). A short grace period, then that is a failure, rather than a hang.
    end = time.monotonic() + 1
    while not state["started"] and time.monotonic() < end:
        time.sleep(0.1)
        state = driver.execute_script(MATHJAX_STATE_JS)
    if not state["started"]:
        report.add(page, "MathJax did not load, formulas stay raw TeX", state["scripts"][0])
        return
    try:
        result = driver.execute_async_script(MATHJAX_WAIT_JS, MATHJAX_TIMEOUT_S)
    except TimeoutException:
        result = "timeout"
    if result != "ok":
        report.add(page, f"MathJax did not finish typesetting in {MATHJAX_TIMEOUT_S} s", result)


# One round trip that measures everything checks 3 to 7 and 9 need on a page.
INSPECT_JS = r"""
const article = document.querySelector('article.bd-article') || document.querySelector('main')
    || document.body;
const box = article.getBoundingClientRect(), css = getComputedStyle(article);
const colLeft = box.left + parseFloat(css.paddingLeft);
const colRight = box.right - parseFloat(css.paddingRight);
const shown = el => el.getClientRects().length > 0;
// Seen by a reader: laid out, with a height, not made invisible (how togglebutton hides).
const seen = el => shown(el) && el.getBoundingClientRect().height > 0
    && getComputedStyle(el).visibility !== 'hidden' && getComputedStyle(el).opacity !== '0';
const fits = r => r.left >= colLeft - 1 && r.right <= colRight + 1;
const text = (el, n) => (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, n);

const images = Array.from(document.images).map(img => {
  const figure = img.closest('figure'), caption = figure && figure.querySelector('figcaption');
  return {src: img.getAttribute('src') || '', alt: img.getAttribute('alt'),
          loaded: img.complete && img.naturalWidth > 0, natural: img.naturalWidth,
          width: img.getBoundingClientRect().width, shown: shown(img),
          inArticle: article.contains(img), inOutput: !!img.closest('.cell_output'),
          inFigure: !!figure, caption: caption ? text(caption, 80) : null};
});

const rawTex = [], texRegex = new RegExp(arguments[0]);
const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const m = texRegex.exec(node.data);
  if (m && !node.parentElement.closest(skip)) {
    rawTex.push(node.data.slice(Math.max(0, m.index - 30), m.index + 50));
  }
}

const tooWide = [];
let scrolled = 0;  // tables wider than the column, in a box that scrolls sideways
const blocks = Array.from(article.querySelectorAll('table, pre')).filter(shown);
for (const el of blocks) {
  if (fits(el.getBoundingClientRect())) continue;
  let ok = false;
  for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
    const ox = getComputedStyle(p).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && fits(p.getBoundingClientRect())) { ok = true; }
  }
  if (ok && el.tagName === 'TABLE') scrolled++;
  if (!ok) tooWide.push({tag: el.tagName.toLowerCase(),
                         width: Math.round(el.getBoundingClientRect().width),
                         excerpt: text(el, 60)});
}

const solutions = Array.from(article.querySelectorAll('.solution.dropdown')).map(sol => {
  const title = sol.querySelector(':scope > .admonition-title');
  const body = Array.from(sol.children).filter(c => c !== title);
  return {title: title ? text(title, 70) : '(no header)',
          collapsed: !body.some(seen),
          hasLink: !!(title && title.querySelector('a[href]'))};
});

return {images: images, rawTex: rawTex, tooWide: tooWide, solutions: solutions,
        column: Math.round(colRight - colLeft),
        scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        tables: article.querySelectorAll('table').length, scrolledTables: scrolled,
        codeBlocks: article.querySelectorAll('pre').length,
        formulas: document.querySelectorAll('mjx-container').length,
        texErrors: Array.from(document.querySelectorAll('mjx-merror')).map(e => text(e, 60)),
        downloads: Array.from(document.querySelectorAll('a.regcourse-download'))
                        .map(a => a.href),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href)};
"""


def check_images(info: dict, page: str, report: Report) -> None:
    """Checks 3 and 4: images loaded; cell-output figures captioned, alt text, legible."""
    for img in info["images"]:
        name = img["src"].rsplit("/", 1)[-1]
        report.images += 1
        if not img["loaded"]:
            report.add(page, "image did not load", img["src"])
            continue
        if img["inOutput"]:
            if not img["inFigure"]:
                report.add(page, "figure has no <figure>/caption", name)
            elif not img["caption"] or not FIG_NUMBER.search(img["caption"]):
                report.add(page, "figure caption has no number (Fig. N)", img["caption"] or name)
            alt = (img["alt"] or "").strip()
            if not alt or HASH_ALT.search(alt) or FILE_ALT.search(alt):
                report.add(page, "figure has no real alt text", alt or name)
        if img["inArticle"] and (img["inOutput"] or img["inFigure"]) and img["shown"]:
            ratio = img["width"] / img["natural"]
            if ratio < report.worst_ratio[0]:
                report.worst_ratio = (ratio, f"{page} {name}")
            if ratio < MIN_DISPLAY_RATIO:
                report.add(
                    page,
                    f"figure shrunk to {ratio:.0%} of its size: text under 9 px",
                    f"{name} {img['width']:.0f} of {img['natural']} px",
                )


def check_maths_and_width(info: dict, page: str, report: Report) -> None:
    """Check 5, second half (raw TeX, TeX errors), and check 6 (width)."""
    report.formulas += info["formulas"]
    for excerpt in info["rawTex"][:5]:
        report.add(page, "raw TeX in the text (not typeset)", excerpt)
    if len(info["rawTex"]) > 5:
        report.add(page, f"... and {len(info['rawTex']) - 5} more text runs with raw TeX")
    for excerpt in info["texErrors"]:
        report.add(page, "formula with a TeX error", excerpt)
    report.tables += info["tables"]
    report.scrolled_tables += info["scrolledTables"]
    report.code_blocks += info["codeBlocks"]
    if info["scrollWidth"] > info["innerWidth"] + 1:
        report.add(
            page,
            "page scrolls sideways",
            f"{info['scrollWidth']} px wide in a {info['innerWidth']} px window",
        )
    for block in info["tooWide"]:
        report.add(
            page,
            f"<{block['tag']}> {block['width']} px wide, wider than the {info['column']} px column",
            block["excerpt"],
        )


# Finds a point on a solution's header that is not on a link or button; returns its
# offset from the header's centre (what ActionChains wants), or null.
CLICK_POINT_JS = """
const title = arguments[0];
title.scrollIntoView({block: 'center'});
const r = title.getBoundingClientRect();
for (let y = r.top + r.height / 2; y > r.top; y -= 4) {
  for (let x = r.left + 2; x < r.right - 2; x += 3) {
    const hit = document.elementFromPoint(x, y);
    if (hit && title.contains(hit) && !hit.closest('a, button')) {
      return [Math.round(x - (r.left + r.width / 2)), Math.round(y - (r.top + r.height / 2))];
    }
  }
}
return null;
"""
BODY_SEEN_JS = """
const sol = arguments[0], title = sol.querySelector(':scope > .admonition-title');
const seen = el => el.getClientRects().length > 0 && el.getBoundingClientRect().height > 0
    && getComputedStyle(el).visibility !== 'hidden' && getComputedStyle(el).opacity !== '0';
return Array.from(sol.children).some(c => c !== title && seen(c));
"""


def check_solutions(driver: webdriver.Chrome, info: dict, page: str, report: Report) -> None:
    """Check 7: solutions start collapsed, their header has no link, a click opens one."""
    for sol in info["solutions"]:
        report.solutions += 1
        if not sol["collapsed"]:
            report.add(page, "solution is not collapsed when the page opens", sol["title"])
        if sol["hasLink"]:
            report.add(page, "solution header contains a link", sol["title"])
    if not info["solutions"]:
        return
    first = driver.find_elements(By.CSS_SELECTOR, "article .solution.dropdown")[0]
    title = first.find_element(By.CSS_SELECTOR, ":scope > .admonition-title")
    offset = driver.execute_script(CLICK_POINT_JS, title)
    if offset is None:
        report.add(
            page,
            "solution header has no spot to click outside a link",
            info["solutions"][0]["title"],
        )
        return
    url = driver.current_url
    ActionChains(driver).move_to_element_with_offset(title, *offset).click().perform()
    end = time.monotonic() + 2  # the body fades in (a 0.3 s CSS transition)
    while not driver.execute_script(BODY_SEEN_JS, first) and time.monotonic() < end:
        time.sleep(0.1)
    if driver.current_url != url:
        report.add(page, "clicking the solution header left the page", driver.current_url)
    elif not driver.execute_script(BODY_SEEN_JS, first):
        report.add(
            page, "clicking the solution header did not open it", info["solutions"][0]["title"]
        )


# --------------------------------------------------------------------------- links


class IdCollector(HTMLParser):
    """Collects the id attributes (and <a name>) of one HTML file."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    """The ids in an HTML file (parsed once, then cached)."""
    collector = IdCollector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def local_file(url: str, origin: str, html_dir: Path) -> Path | None:
    """The file under html_dir that a URL on the local server serves (None: not local)."""
    if not url.startswith(origin + "/"):
        return None
    path = unquote(urlsplit(url).path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return html_dir / path


def check_links(info: dict, page: str, origin: str, html_dir: Path, report: Report) -> None:
    """Checks 8 and 9: internal links reach a file and an id; the course download link."""
    for url in dict.fromkeys(info["links"]):  # each distinct link once
        target = local_file(url, origin, html_dir)
        if target is None:
            continue  # external (http, mailto...): not followed
        report.links += 1
        short = url.replace(origin + "/", "")
        if not target.is_file():
            report.add(page, "link to a missing file", short)
            continue
        fragment = unquote(urlsplit(url).fragment)
        if fragment and target.suffix == ".html" and fragment not in ids_in(target):
            report.add(page, "link to a missing #anchor", short)
    if info.get("needs_download"):
        zips = [u for u in info["downloads"] if u.split("#")[0].split("?")[0].endswith(".zip")]
        found = [u for u in zips if (f := local_file(u, origin, html_dir)) and f.is_file()]
        if not found:
            report.add(
                page,
                "no link a.regcourse-download to an existing .zip",
                ", ".join(info["downloads"]) or "no such link",
            )


# --------------------------------------------------------------------------- pages


def site_pages(html_dir: Path) -> list[str]:
    """The pages to open, as paths relative to html_dir, intro first."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir).as_posix()
        if rel in SKIP_PAGES or rel.split("/")[0] in SKIP_DIRS:
            continue
        pages.append(rel)
    return sorted(pages, key=lambda p: (p != "intro.html", p))


def screenshot(driver: webdriver.Chrome, page: str, out_dir: Path) -> Path:
    """Check 11: the whole page, WIDTH px wide (cut at MAX_SCREENSHOT_HEIGHT), as PNG."""
    height, bars = driver.execute_script(
        "window.scrollTo(0, 0);"
        "return [document.documentElement.scrollHeight, outerHeight - innerHeight]"
    )
    # The window is taller than the page it shows by `bars` px (Chromium's own bars).
    driver.set_window_size(WIDTH, min(height, MAX_SCREENSHOT_HEIGHT) + bars)
    time.sleep(0.5)  # let the page lay itself out again at the new size
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (Path(page).stem + ".png")
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)
    return path


def check_page(
    driver: webdriver.Chrome, page: str, origin: str, args: argparse.Namespace, report: Report
) -> None:
    """Open one page and run checks 1 to 9 (and 11 when it is a screenshot page)."""
    drain_logs(driver)
    driver.get(f"{origin}/{page}")
    report.pages += 1
    wait_for_images(driver)
    wait_for_mathjax(driver, page, report)
    info = driver.execute_script(INSPECT_JS, RAW_TEX)
    info["needs_download"] = args.download_check and (
        page == "intro.html" or (page.startswith("chapters/") and page.count("/") == 1)
    )
    check_images(info, page, report)
    check_maths_and_width(info, page, report)
    check_links(info, page, origin, args.html_dir, report)
    check_solutions(driver, info, page, report)
    if page in SCREENSHOT_PAGES:
        path = screenshot(driver, page, args.screenshots)
        print(f"  screenshot {path}")
    check_logs(driver, page, origin, report)


SEARCH_RESULTS_JS = """
const status = document.querySelector('#search-results p.search-summary, #search-results p');
return {finished: !!status && /finished|did not match/i.test(status.textContent),
        links: Array.from(document.querySelectorAll('#search-results ul.search li a'))
                    .map(a => a.href)};
"""


def check_search(driver: webdriver.Chrome, origin: str, html_dir: Path, report: Report) -> None:
    """Check 10: the search page finds SEARCH_QUERY, with SEARCH_EXPECTED among results."""
    page = f"search.html?q={SEARCH_QUERY}"
    if not (html_dir / "search.html").is_file():
        report.add("search.html", "the site has no search page")
        return
    drain_logs(driver)
    driver.get(f"{origin}/{page}")
    end = time.monotonic() + 15
    state = driver.execute_script(SEARCH_RESULTS_JS)
    while not state["finished"] and time.monotonic() < end:
        time.sleep(0.2)
        state = driver.execute_script(SEARCH_RESULTS_JS)
    paths = [urlsplit(url).path.lstrip("/") for url in state["links"]]
    if not state["finished"]:
        report.add(page, "search did not finish in 15 s")
    elif not paths:
        report.add(page, "search found nothing")
    elif SEARCH_EXPECTED not in paths:
        report.add(page, f"search results do not include {SEARCH_EXPECTED}", ", ".join(paths))
    print(f"  search {SEARCH_QUERY!r}: {len(paths)} result(s)")
    check_logs(driver, page, origin, report)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html-dir", type=Path, default=Path("_build/html"))
    parser.add_argument("--screenshots", type=Path, default=Path("_build/screenshots"))
    parser.add_argument(
        "--no-download-check",
        dest="download_check",
        action="store_false",
        help="skip check 9 (the a.regcourse-download link)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.html_dir = args.html_dir.resolve()
    start = time.monotonic()
    if not (args.html_dir / "intro.html").is_file():
        print(f"check_browser: no built book in {args.html_dir} (intro.html missing)")
        return 1
    report = Report()
    server, origin = serve(args.html_dir)
    profile = tempfile.mkdtemp(prefix="check-browser-")
    driver = None
    try:
        driver = start_browser(profile)
        for page in site_pages(args.html_dir):
            page_start = time.monotonic()
            try:
                check_page(driver, page, origin, args, report)
            except WebDriverException as err:
                report.add(page, "the browser failed on this page", err.msg or str(err))
            print(f"checked {page} ({time.monotonic() - page_start:.1f} s)", flush=True)
        check_search(driver, origin, args.html_dir, report)
    except WebDriverException as err:
        report.add("(browser)", "Chromium could not be driven", err.msg or str(err))
    finally:
        if driver is not None:
            driver.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    print_summary(report, time.monotonic() - start)
    return 1 if report.problems else 0


def print_summary(report: Report, seconds: float) -> None:
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):")
        for problem in report.problems:
            print(f"  - {problem}")
    ratio, where = report.worst_ratio
    worst = f"{ratio:.0%} ({where})" if where else "no figure shown"
    print(
        f"\nchecked {report.pages} pages in a browser: {report.images} images, "
        f"{report.formulas} formulas typeset, {report.tables} tables "
        f"({report.scrolled_tables} scrolling in their own box), "
        f"{report.code_blocks} code blocks, {report.solutions} solutions, "
        f"{report.links} internal links; smallest figure scale {worst}; "
        f"{seconds:.0f} s"
    )
    print("check_browser: " + ("FAILED" if report.problems else "all checks passed"))


if __name__ == "__main__":
    sys.exit(main())
