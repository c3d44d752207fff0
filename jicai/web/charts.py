"""Chart data for ECharts: views pass these dicts through json_script; static/web/charts.js draws them."""


def bar_data(counts: list[tuple[str, str, int]], series: str) -> dict:
    """counts = [(value, label, n)] → {"labels", "values", "series"}."""
    return {
        "labels": [label for _, label, _ in counts],
        "values": [n for _, _, n in counts],
        "series": series,
    }
