"""Geometry of the fix-impact plot, drawn as inline SVG by templates/metrics/_plot.html (works offline)."""

from __future__ import annotations

from datetime import date

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 40


def _nice_max(value: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step * 4:
            return max(step * 4, 4)
    return int(value * 1.1) + 1


def impact_plot(series: list[dict], *, verdict_label: str = "", compact: bool = False) -> dict | None:
    """Coordinates for bars (daily tickets), the baseline level and 95% band, and the deploy marker."""
    if not series:
        return None
    width, height = (360, 140) if compact else (WIDTH, HEIGHT)
    left, bottom = (30, 24) if compact else (LEFT, BOTTOM)
    plot_w, plot_h = width - left - RIGHT, height - TOP - bottom
    n = len(series)
    peak = max(
        [p["tickets"] or 0 for p in series] + [p["high"] or 0 for p in series] + [p["expected"] or 0 for p in series]
    )
    y_max = _nice_max(peak)
    step = plot_w / n

    def x(i: float) -> float:
        return round(left + i * step, 1)

    def y(v: float) -> float:
        return round(TOP + plot_h * (1 - v / y_max), 1)

    bars = []
    for i, p in enumerate(series):
        if p["tickets"] is None:
            continue
        top = y(p["tickets"])
        bars.append(
            {
                "x": x(i) + 0.5,
                "y": top,
                "w": round(max(step - 1, 1), 1),
                "h": round(TOP + plot_h - top, 1),
                "after": p["period"] == "after",
                "label": f"{p['day']}: {p['tickets']} tickets",
            }
        )

    def runs(key_fn):
        """Split the series into runs of consecutive days that have a value (the deploy day has none)."""
        out, current = [], []
        for i, p in enumerate(series):
            value = key_fn(p)
            if value is None:
                if current:
                    out.append(current)
                current = []
            else:
                current.append((i, value))
        if current:
            out.append(current)
        return out

    level = [" ".join(f"{x(i + 0.5)},{y(v)}" for i, v in run) for run in runs(lambda p: p["expected"])]
    bands = []
    for run in runs(lambda p: None if p["low"] is None else (p["low"], p["high"])):
        upper = [f"{x(i + 0.5)},{y(hi)}" for i, (_, hi) in run]
        lower = [f"{x(i + 0.5)},{y(lo)}" for i, (lo, _) in reversed(run)]
        bands.append(" ".join(upper + lower))
    deploy_index = next((i for i, p in enumerate(series) if p["period"] == "deploy"), n // 2)
    ticks = [{"y": y(v), "label": v} for v in (0, y_max // 2, y_max)]
    day_labels = []
    for i in (0, deploy_index, n - 1) if compact else (0, n // 4, deploy_index, 3 * n // 4, n - 1):
        d = date.fromisoformat(series[i]["day"])
        day_labels.append({"x": x(i + 0.5), "label": f"{d:%b} {d.day}"})
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "level": level,
        "bands": bands,
        "deploy_x": x(deploy_index + 0.5),
        "top": TOP,
        "base_y": TOP + plot_h,
        "left": left,
        "right": width - RIGHT,
        "ticks": ticks,
        "day_labels": day_labels,
        "label_y": TOP + plot_h + 16,
        "verdict_label": verdict_label,
        "compact": compact,
    }
