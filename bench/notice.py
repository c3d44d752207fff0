"""Benchmark: the quarterly notice (通报) of the province bureau — page, API and XLSX export — against the
straightforward build measured in the same run (every alert of the quarter loaded with its subjects, and
the demand-review list of the years that ended in the quarter computed live).

    .venv/bin/python bench/notice.py [--postgres postgres://postgres@127.0.0.1:5432/jicai_province]
        [--quarter 2025Q3] [--repeat 5] [--no-naive] [--no-export]

Reuses a demo database (`jicai demo --scale province`); the default quarter is the one of the newest alert.
One JSON line per measurement (ms; p50/p95 over --repeat requests after a warm-up), a last line with the
ratio straightforward / page at p95.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from lists import api_token, emit, percentile  # bench/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, repeat: int) -> tuple[float, float, object]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(percentile(times, 0.5), 1), round(percentile(times, 0.95), 1), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/jicai_province")
    parser.add_argument("--quarter", default="")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-naive", action="store_true", help="skip the straightforward build (minutes)")
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.postgres
    os.environ["DJANGO_SETTINGS_MODULE"] = "jicai.settings"
    os.environ.setdefault("JICAI_WEB", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    from django.db.models import Max
    from django.test import Client

    from jicai.accounts.models import User
    from jicai.compliance import review
    from jicai.monitoring import notices
    from jicai.monitoring.models import Alert

    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    user = User.objects.get(username="province")
    region = user.organisation.region
    newest = Alert.objects.aggregate(d=Max("first_seen_on"))["d"]
    quarter = notices.parse_quarter(args.quarter) if args.quarter else notices.quarter_of(newest)
    alerts = notices.quarter_alerts(region, quarter)
    emit(name="dataset", region=region.code, quarter=quarter.code, alerts=alerts.count())

    client = Client()
    client.force_login(user)
    key = api_token(user, "bench-notice")
    page_url = f"/monitoring/notices/{region.code}/{quarter.code}/"
    api_url = f"/api/v1/notices/{region.code}/{quarter.code}"

    def get(url, **headers):
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        return response

    p50, page_p95, _ = timed(lambda: get(page_url), args.repeat)
    emit(name="page", url=page_url, p50_ms=p50, p95_ms=page_p95)
    p50, p95, response = timed(lambda: get(api_url, HTTP_AUTHORIZATION=f"Bearer {key}"), args.repeat)
    body = response.json()
    emit(name="api", url=api_url, p50_ms=p50, p95_ms=p95, total=body["total"], page_size=body["page_size"])
    if not args.no_export:
        started = time.perf_counter()
        response = get(page_url + "?export=xlsx")
        size = len(b"".join(response.streaming_content))
        emit(name="export", seconds=round(time.perf_counter() - started, 1), bytes=size, rows=body["total"])

    if not args.no_naive:
        from jicai.batches.models import AgreementYear
        from jicai.registry.models import Institution

        def naive():
            loaded = list(alerts)  # what the notice did before: every alert, then counted in Python
            institutions = Institution.objects.filter(region__path__startswith=region.path)
            years = AgreementYear.objects.filter(
                end__gte=quarter.start, end__lte=quarter.end, end__lt=dt.date.today()
            )
            rows = [r for y in years for r in review.review_rows(y, institutions)]
            return len(loaded), len(rows)

        started = time.perf_counter()
        loaded, review_rows = naive()
        seconds = time.perf_counter() - started
        emit(name="straightforward", seconds=round(seconds, 1), alerts=loaded, review_rows=review_rows)
        emit(name="summary", ratio_page_p95=round(seconds * 1000 / page_p95, 1))


if __name__ == "__main__":
    main()
