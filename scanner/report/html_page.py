"""The frame every HTML report shares: one self-contained page (inline CSS, inline script, SVG
charts drawn here), a Content-Security-Policy that forbids every network fetch, and the
small pieces the sweep report and the sweep diff are built from.

Everything that comes from a record (names, CA names, error details a server provoked) is
escaped here; the script only reads ``data-*`` attributes and never inserts markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "cell", "page", "sortable_table", "timeline_chart"]

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "img-src data:")

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#5b6475;margin-bottom:1rem}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1rem}
figure{margin:0;border:1px solid #d8dde6;border-radius:6px;padding:.6rem}
figcaption{font-weight:600;margin-bottom:.3rem}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}
.controls{margin:.5rem 0;display:flex;gap:.6rem;flex-wrap:wrap}
.controls input{min-width:18rem;padding:.25rem .4rem}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #e3e7ee;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f3f5f9;position:sticky;top:0;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr.hidden{display:none}
.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}.dim{color:#6e7781}
details{border:1px solid #e3e7ee;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer;font-weight:600}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem}dt{color:#5b6475}
code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all}
"""

_SCRIPT = """
(function () {
  function value(row, index) {
    var c = row.cells[index];
    return c.hasAttribute('data-sort') ? c.getAttribute('data-sort') : c.textContent.trim();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      th.addEventListener('click', function () {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var numeric = th.getAttribute('data-type') === 'number';
        var rows = Array.prototype.slice.call(table.tBodies[0].rows);
        rows.sort(function (a, b) {
          var x = value(a, index), y = value(b, index), r;
          if (numeric) {
            var nx = x === '' ? Infinity : Number(x), ny = y === '' ? Infinity : Number(y);
            r = nx === ny ? 0 : (nx < ny ? -1 : 1);
          } else {
            r = x.localeCompare(y);
          }
          return ascending ? r : -r;
        });
        rows.forEach(function (row) { table.tBodies[0].appendChild(row); });
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function (input) {
    var table = document.getElementById(input.getAttribute('data-table'));
    var count = document.getElementById(input.getAttribute('data-count'));
    function apply() {
      var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
        row.classList.toggle('hidden', !keep);
        if (keep) { shown += 1; }
      });
      if (count) { count.textContent = shown + ' of ' + table.tBodies[0].rows.length; }
    }
    input.addEventListener('input', apply);
    apply();
  });
})();
"""

_PALETTE = {"ok": "#2da44e", "warn": "#d4a72c", "bad": "#cf222e", "dim": "#8c959f",
            "info": "#54aeff"}


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"{body}\n<script>{_SCRIPT}</script></body></html>\n"
    )


def bar_chart(chart_id: str, caption: str, bars: Sequence[tuple[str, int, str]]) -> str:
    """Horizontal bars: (label, count, tone) with tone one of ok/warn/bad/dim/info."""
    width, row, label_width = 320, 22, 150
    most = max((count for _, count, _ in bars), default=0) or 1
    height = max(1, len(bars)) * row + 4
    parts = [f'<figure id="{escape(chart_id)}"><figcaption>{escape(caption)}</figcaption>'
             f'<svg class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    if not bars:
        parts.append('<text x="4" y="16" class="dim">no data</text>')
    for index, (label, count, tone) in enumerate(bars):
        y = index * row + 2
        length = round((width - label_width - 40) * count / most)
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {count}</title>'
            f'<text x="0" y="{y + 14}">{escape(_short(label, 22))}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1)}" height="{row - 8}" '
            f'fill="{_PALETTE.get(tone, _PALETTE["info"])}"></rect>'
            f'<text x="{label_width + max(length, 1) + 4}" y="{y + 14}">{count}</text></g>')
    parts.append("</svg></figure>")
    return "".join(parts)


def timeline_chart(chart_id: str, caption: str, points: Sequence[tuple[str, int]]) -> str:
    """Targets placed along a days-left axis (clamped to -30 .. 400): expiry at a glance."""
    width, height, left, right = 320, 90, 10, 310
    low, high = -30, 400

    def x(days: int) -> float:
        clamped = min(max(days, low), high)
        return round(left + (right - left) * (clamped - low) / (high - low), 1)

    parts = [f'<figure id="{escape(chart_id)}"><figcaption>{escape(caption)}</figcaption>'
             f'<svg class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="50" x2="{right}" y2="50" stroke="#8c959f"></line>']
    for tick in (0, 30, 90, 180, 365):
        parts.append(f'<line x1="{x(tick)}" y1="45" x2="{x(tick)}" y2="55" stroke="#8c959f">'
                     f'</line><text x="{x(tick) - 6}" y="70">{tick}</text>')
    parts.append(f'<text x="{left}" y="86" class="dim">days left (clamped to {low}..{high})'
                 '</text>')
    if not points:
        parts.append('<text x="4" y="20" class="dim">no certificate data</text>')
    for index, (label, days) in enumerate(points):
        tone = "bad" if days < 0 else "warn" if days < 30 else "ok"
        y = 20 + (index % 5) * 5
        parts.append(f'<circle class="point" cx="{x(days)}" cy="{y}" r="4" '
                     f'fill="{_PALETTE[tone]}"><title>{escape(label)}: {days} days</title>'
                     '</circle>')
    parts.append("</svg></figure>")
    return "".join(parts)


def cell(text: object, *, sort: object | None = None, tone: str | None = None) -> str:
    attributes = "" if sort is None else f' data-sort="{escape(str(sort))}"'
    if tone:
        attributes += f' class="{tone}"'
    return f"<td{attributes}>{escape('' if text is None else str(text))}</td>"


def sortable_table(table_id: str, headers: Sequence[tuple[str, str]], rows: Sequence[str],
                   *, placeholder: str) -> str:
    """A filter box, a shown-count and a table whose headers sort it (``data-type`` number
    sorts numerically). ``headers``: (title, "text" | "number"); ``rows``: ``<tr>`` markup."""
    head = "".join(f'<th data-type="{kind}">{escape(title)}</th>' for title, kind in headers)
    return (f'<div class="controls"><input class="filter" type="search" '
            f'placeholder="{escape(placeholder)}" data-table="{table_id}" '
            f'data-count="{table_id}-count"><span id="{table_id}-count" class="dim"></span>'
            f'</div><table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
