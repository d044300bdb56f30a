"""Headless Chromium driven over the DevTools protocol (websocket-client,
which visdom already needs): open a page, evaluate JavaScript in it."""
import json
import shutil
import subprocess
import time
from pathlib import Path

import requests
import websocket

from tests.support.helpers import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--remote-allow-origins=*"]
# every visdom pane: its title and its box in CSS pixels
PANES_JS = """JSON.stringify(Array.from(
  document.querySelectorAll('.react-grid-item')).map(item => {
    const box = item.getBoundingClientRect();
    const title = item.querySelector('.bar');
    return {title: title ? title.innerText.trim() : '', x: box.x,
            y: box.y, width: box.width, height: box.height,
            text: item.innerText.slice(0, 2000),
            points: item.querySelectorAll('.scatterlayer .point').length};
  }))"""


class Browser:
    """One headless Chromium page (use as a context manager)."""

    def __init__(self, profile: Path, width: int = 1600, height: int = 2200):
        self.port = free_port()
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
             f"--remote-debugging-port={self.port}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.socket = None
        self._id = 0

    def __enter__(self) -> "Browser":
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                targets = requests.get(
                    f"http://127.0.0.1:{self.port}/json/list", timeout=1
                ).json()
                page = next(t for t in targets if t["type"] == "page")
                self.socket = websocket.create_connection(
                    page["webSocketDebuggerUrl"], timeout=30)
                return self
            except (requests.RequestException, StopIteration, ValueError):
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("Chromium's DevTools did not answer in 30 s")

    def __exit__(self, *exc) -> None:
        if self.socket is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def command(self, method: str, **params):
        self._id += 1
        self.socket.send(json.dumps({"id": self._id, "method": method,
                                     "params": params}))
        while True:
            answer = json.loads(self.socket.recv())
            if answer.get("id") == self._id:
                return answer.get("result", {})

    def open(self, url: str) -> None:
        self.command("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.command("Runtime.evaluate", expression=expression,
                              returnByValue=True)
        return result.get("result", {}).get("value")

    def panes(self, at_least: int = 1, settle_s: float = 2.0,
              timeout: float = 30.0) -> list:
        """The page's panes once at least ``at_least`` are drawn and their
        boxes have not moved for ``settle_s``."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            panes = json.loads(self.evaluate(PANES_JS) or "[]")
            if panes != last:
                last, since = panes, time.monotonic()
            elif (len(panes) >= at_least and
                    time.monotonic() - since >= settle_s):
                return panes
            time.sleep(0.3)
        return last or []


def overlaps(panes: list, tolerance: float = 1.0) -> list:
    """Pairs of pane titles whose boxes intersect."""
    found = []
    for i, a in enumerate(panes):
        for b in panes[i + 1:]:
            width = (min(a["x"] + a["width"], b["x"] + b["width"]) -
                max(a["x"], b["x"]))
            height = (min(a["y"] + a["height"], b["y"] + b["height"]) -
                max(a["y"], b["y"]))
            if width > tolerance and height > tolerance:
                found.append((a["title"], b["title"]))
    return found


# every plotly pane: its title, toolbar and plot-title boxes, axis ticks
PLOTS_JS = """JSON.stringify(Array.from(
  document.querySelectorAll('.react-grid-item')).map(item => {
    const box = el => { if (!el) return null;
      const b = el.getBoundingClientRect();
      return {x: b.x, y: b.y, width: b.width, height: b.height}; };
    const texts = sel => Array.from(item.querySelectorAll(sel)).map(
      t => t.textContent.trim());
    const bar = item.querySelector('.bar');
    return {title: bar ? bar.innerText.trim() : '',
            bar: box(bar), modebar: box(item.querySelector('.modebar')),
            plot_title: box(item.querySelector('.gtitle')),
            plot_title_text: texts('.gtitle').join(' '),
            xticks: texts('.xaxislayer-above .xtick text'),
            yticks: texts('.yaxislayer-above .ytick text'),
            axis_titles: texts('.g-xtitle, .g-ytitle'),
            x: item.getBoundingClientRect().x,
            y: item.getBoundingClientRect().y};
  }))"""


def intersect(a: dict, b: dict, tolerance: float = 1.0) -> bool:
    """True when two boxes (x, y, width, height) overlap."""
    if not a or not b:
        return False
    width = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"],
                                                                b["x"])
    height = min(a["y"] + a["height"], b["y"] + b["height"]) - max(
        a["y"], b["y"])
    return width > tolerance and height > tolerance
