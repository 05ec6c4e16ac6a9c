"""Helpers to check an HTML report as a person would see it: headless Chromium (Debian's package).

`render` runs Chromium twice on a file: `--dump-dom` gives the DOM after the page's scripts
ran (Plotly draws its SVG then), `--screenshot` a PNG. Network is cut off with a host
resolver rule, and Chromium's console messages (errors, failed loads) are read from its log.
`chart_marks` parses the DOM: for every `<figure class="chart" data-chart=...>`, the size of
Plotly's main SVG and how many marks (line/bar paths, heatmap images) it drew.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # any attempt to reach a host fails (and logs)
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",  # let timers and promises settle before dumping
]
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? (.*)")
# attributes that make a browser fetch or navigate; `xmlns` values are names, not fetches
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "poster", "data", "srcset"}
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"(url\(\s*['\"]?\s*(https?:)?//|@import)", re.IGNORECASE)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; fail in CI, which must run these tests."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run installs it, CI must not skip the browser tests")
    pytest.skip(message)


@dataclass
class Rendered:
    dom: str
    console: list[str]
    screenshot: Path


def _run(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=True)


def console_lines(stderr: str) -> list[str]:
    return [m.group(1) for line in stderr.splitlines() if (m := CONSOLE.search(line))]


def render(page: Path, workdir: Path, size: tuple[int, int] | None = (1400, 6000)) -> Rendered:
    """The DOM after scripts ran, console messages, and (unless `size` is None) a screenshot."""
    window = f"--window-size={size[0]},{size[1]}" if size else "--window-size=1400,900"
    dumped = _run(page, workdir / "profile-dom", window, "--dump-dom")
    console = console_lines(dumped.stderr)
    png = workdir / f"{page.stem}.png"
    if size is not None:
        shot = _run(page, workdir / "profile-shot", window, f"--screenshot={png}")
        console += console_lines(shot.stderr)
    return Rendered(dom=dumped.stdout, console=console, screenshot=png)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


class _Charts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.chart: str | None = None
        self.depth = 0
        self.found: dict[str, dict] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "figure" and "chart" in classes and self.chart is None:
            self.chart = a.get("data-chart", "?")
            self.depth = len(self.stack)
            in_grid = any("grid2" in c for _, c in self.stack)  # one of two charts side by side
            self.found[self.chart] = {"svg": (0, 0), "marks": 0, "in_grid": in_grid}
        elif self.chart is not None:
            info = self.found[self.chart]
            ancestors = set().union(*(c for _, c in self.stack)) if self.stack else set()
            if tag == "svg" and "main-svg" in classes:
                size = (float(a.get("width") or 0), float(a.get("height") or 0))
                info["svg"] = max(info["svg"], size)
            drawn_path = tag == "path" and len(a.get("d") or "") > 5 and "trace" in ancestors
            drawn_image = (
                tag == "image"
                and "hm" in ancestors
                and float(a.get("width") or 0) > 0
                and float(a.get("height") or 0) > 0
            )
            if drawn_path or drawn_image:
                info["marks"] += 1
        if tag not in VOID:
            self.stack.append((tag, classes))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if self.chart is not None and len(self.stack) <= self.depth:
            self.chart = None


def chart_marks(dom: str) -> dict[str, dict]:
    """{chart: {"svg": (width, height), "marks": drawn marks, "in_grid": side by side}}."""
    parser = _Charts()
    parser.feed(dom)
    return parser.found


def declared_charts(html: str) -> list[str]:
    return re.findall(r'<figure class="chart" data-chart="([^"]+)"', html)


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_style = False
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.in_style = tag == "style"
        for name, value in attrs:
            if not value:
                continue
            if name in URL_ATTRIBUTES and EXTERNAL.match(value):
                self.bad.append(f"<{tag} {name}={value!r}>")
            if name == "style" and CSS_URL.search(value):
                self.bad.append(f"<{tag} style={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style and CSS_URL.search(data):
            self.bad.append(f"<style> {CSS_URL.search(data).group(0)}")


def external_references(html: str) -> list[str]:
    """Attributes and CSS that would make a browser fetch from another host.

    Script bodies are not scanned: plotly.js carries URL strings (map tile servers, a topojson
    CDN) that only map traces would fetch, and the report draws none; the browser test cuts
    the network off and fails on any console message, so a fetch attempted at run time shows
    there.
    """
    parser = _References()
    parser.feed(html)
    return parser.bad
