"""Small inline SVG plots of the review, built as strings (dozens per page; only numbers go into them).

`sparkline` draws weekly counts as bars; `fix_plot` a fix's daily tickets before and after its deploy
with the level expected had nothing changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

SPARK_W, SPARK_H = 96, 24
FIX_W, FIX_H = 180, 44


def sparkline(values: Sequence[int], *, labels: Sequence[str] = (), title: str = "") -> str:
    """Bars of `values` (oldest first), the last one highlighted; an accessible title lists them."""
    values = [max(0, int(v or 0)) for v in values]
    if not values:
        return ""
    peak = max(values) or 1
    step = SPARK_W / len(values)
    bars = []
    for i, value in enumerate(values):
        height = round((SPARK_H - 2) * value / peak, 1) if value else 0.0
        cls = "spark-bar last" if i == len(values) - 1 else "spark-bar"
        label = f"{labels[i]}: {value}" if i < len(labels) else str(value)
        bars.append(
            f'<rect class="{cls}" x="{round(i * step + 1, 1)}" y="{round(SPARK_H - height, 1)}" '
            f'width="{round(max(step - 2, 1), 1)}" height="{height}"><title>{escape(label)}</title></rect>'
        )
    described = title or ", ".join(str(v) for v in values)
    return (
        f'<svg class="sparkline" viewBox="0 0 {SPARK_W} {SPARK_H}" width="{SPARK_W}" height="{SPARK_H}" '
        f'role="img" aria-label="{escape(described)}" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


def fix_plot(series: Sequence[dict], *, title: str = "") -> str:
    """Daily tickets 30 days before and after a fix (bars; after the deploy in the accent colour), the
    expected level as a line and the deploy day as a mark."""
    if not series:
        return ""
    n = len(series)
    peak = max([p.get("tickets") or 0 for p in series] + [p.get("expected") or 0 for p in series]) or 1
    step = FIX_W / n
    parts = []
    deploy_x = None
    for i, point in enumerate(series):
        x = round(i * step, 1)
        if point.get("period") == "deploy":
            deploy_x = round(x + step / 2, 1)
        tickets = point.get("tickets")
        if tickets:
            height = round((FIX_H - 2) * tickets / peak, 1)
            cls = "fix-bar after" if point.get("period") == "after" else "fix-bar"
            parts.append(
                f'<rect class="{cls}" x="{x}" y="{round(FIX_H - height, 1)}" width="{round(max(step - 0.6, 0.6), 1)}" '
                f'height="{height}"/>'
            )
    level = [
        f"{round(i * step + step / 2, 1)},{round(FIX_H - (FIX_H - 2) * p['expected'] / peak, 1)}"
        for i, p in enumerate(series)
        if p.get("expected") is not None and p.get("period") == "after"
    ]
    if level:
        parts.append(f'<polyline class="fix-expected" points="{" ".join(level)}"/>')
    if deploy_x is not None:
        parts.append(f'<line class="fix-deploy" x1="{deploy_x}" x2="{deploy_x}" y1="0" y2="{FIX_H}"/>')
    label = title or "Daily tickets before and after the fix"
    return (
        f'<svg class="fix-plot" viewBox="0 0 {FIX_W} {FIX_H}" width="{FIX_W}" height="{FIX_H}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
