"""RunsIndex: the ``main`` environment lists every run.

``http://localhost:8097`` opens the ``main`` environment; this keeps a
``runs`` pane there with one row per environment: its status, last epoch
and final loss (from the ``run_status`` pane each moevae Board keeps in its
environment) and a link to it. It runs inside the server, so it sees every
run, whichever machine trained it.
"""
import html
import json
import re
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from .persist import loaded_env

INDEX_ENV, INDEX_WINDOW, STATUS_WINDOW = "main", "runs", "run_status"
SILENT_AFTER_S = 600.0
PANE_WIDTH, ROW_HEIGHT_PX = 820, 32
ATTRIBUTE = re.compile(r'data-(status|epoch|loss|updated)="([^"]*)"')


def run_summary(env: Dict[str, Any]) -> Dict[str, str]:
    """{status, epoch, loss, updated} read from a run's status pane."""
    pane = env.get("jsons", {}).get(STATUS_WINDOW)
    content = pane.get("content") if isinstance(pane, dict) else None
    if not isinstance(content, str):
        return {}
    return dict(ATTRIBUTE.findall(content))


def describe(summary: Dict[str, str], now: float) -> str:
    status = summary.get("status", "")
    try:
        silent = now - float(summary.get("updated", ""))
    except ValueError:
        silent = 0.0
    if status == "running" and silent > SILENT_AFTER_S:
        return f"running? (silent for {silent / 60:.0f} min)"
    return status or "-"


def index_html(rows: List[Dict[str, str]], base_url: str = "") -> str:
    """The pane's table; links under the server's ``base_url``."""
    cells = "".join(
        f'<tr><td><a href="{html.escape(base_url)}/env/{quote(row["env"], safe="")}" '
        f'target="_top">{html.escape(row["env"])}</a></td>'
        f'<td>{html.escape(row["status"])}</td>'
        f'<td>{html.escape(row.get("epoch") or "-")}</td>'
        f'<td>{html.escape(row.get("loss") or "-")}</td></tr>'
        for row in rows)
    return ('<table class="table table-condensed"><tr><th>run</th>'
            '<th>status</th><th>last epoch</th><th>final loss</th></tr>'
            f'{cells or "<tr><td colspan=4>no run yet</td></tr>"}</table>'
            '<small>Status: running; finished; stopped (Ctrl-C or '
            'SIGTERM, resumable); failed (an error ended training); exited '
            '(its process ended before training returned). Open a '
            'run by its name. To compare runs, select several environments '
            'in the environment menu at the top (their panes are '
            'overlaid).</small>')


class RunsIndex:
    """Keeps the ``runs`` pane of ``main`` up to date."""

    def __init__(self, app: Any):
        self.app = app
        self._content: Optional[str] = None
        self._on_disk: Dict[str, Tuple[float, Dict[str, str]]] = {}

    def saved_summary(self, eid: str) -> Dict[str, str]:
        """The summary of an environment saved by an earlier server, read
        from its file (once per change) without loading it into memory."""
        path = Path(self.app.env_path or ".") / f"{eid}.json"
        try:
            mtime = path.stat().st_mtime
            if eid not in self._on_disk or self._on_disk[eid][0] != mtime:
                with open(path) as handle:
                    env = json.load(handle)
                self._on_disk[eid] = (mtime, run_summary(env))
        except (OSError, ValueError, AttributeError, TypeError):
            return {}
        return self._on_disk[eid][1]

    def rows(self, now: float) -> List[Dict[str, str]]:
        rows = []
        for eid in sorted(self.app.state):
            data = loaded_env(self.app.state[eid])
            summary = (self.saved_summary(eid) if data is None
                       else run_summary(data))
            if eid == INDEX_ENV and not summary:
                continue  # main lists the runs; it is one (pynet's
                # default Board env) only when it has a run_status pane
            rows.append(dict(summary, env=eid,
                             status=describe(summary, now)))
        return rows

    def refresh(self) -> bool:
        """Redraw the pane if a row changed; True if it was redrawn."""
        from visdom.utils.server_utils import broadcast
        from visdom.utils.shared_utils import get_rand_id

        content = index_html(self.rows(time.time()),
                             getattr(self.app, "base_url", "") or "")
        main = self.app.state.setdefault(INDEX_ENV, {"jsons": {},
                                                    "reload": {}})
        windows = main["jsons"]
        if content == self._content and INDEX_WINDOW in windows:
            return False  # (a run drawn in main may have closed the pane)
        old = windows.get(INDEX_WINDOW, {})
        pane = {"command": "window", "id": INDEX_WINDOW, "title": "runs",
                "inflate": True, "width": PANE_WIDTH,
                "height": min(120 + ROW_HEIGHT_PX * content.count("<tr>"),
                              900),
                "contentID": get_rand_id(),
                "content": content, "type": "text",
                "i": old.get("i", len(windows))}
        windows[INDEX_WINDOW] = pane
        broadcast(self.app, pane, INDEX_ENV)
        self._content = content
        return True
