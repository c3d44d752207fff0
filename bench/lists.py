"""Benchmark: every list page and list API endpoint for the largest institution and the province bureau,
with the capped count (jicai.core.counts) against the old full `COUNT(*)` in the same run.

    .venv/bin/python bench/lists.py [--scale medium|province] [--repeat 10] [--reuse]
        [--postgres postgres://postgres@127.0.0.1:5432/jicai_lists] [--only REGEX] [--skip REGEX]
        [--persona largest_institution|province_bureau] [--target-ms 100]

The database is migrated and, unless --reuse finds a demo already there, rebuilt with `jicai demo --scale
SCALE` (medium ≈ 30 s, province ≈ 10–15 min). Personas: a user of the institution with the most orders
(created as `bench_largest`) and the demo's province bureau user `province`; each gets an API token.

List pages are found, not listed by hand: every URL without parameters that renders a paginator for the
persona; list endpoints are the GET operations of the OpenAPI schema without path parameters whose answer
is a page (`…Page`). Each is requested through the Django test client (middleware, views, templates, the
token check for the API) `--repeat` times with the capped count and as many times with the old full count,
interleaved, after one warm-up request of each. One JSON line per (persona, list): p50/p95 in ms of both,
the ratio old/new at p95, the target and whether p95 meets it; a last line sums up.
"""

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100
# GET-only pages that are forms, downloads or actions rather than lists.
SKIP = re.compile(r"(login|logout|/new/|/set/|/compute/|/generate/|/sign/|\.csv$|\.json$|/docs|/admin/)")


def emit(**fields) -> None:
    print(json.dumps(fields, ensure_ascii=False, default=str), flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def build(database_url: str, scale: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    jicai = str(Path(sys.executable).with_name("jicai"))
    subprocess.run([jicai, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    started = time.perf_counter()
    subprocess.run([jicai, "demo", "--scale", scale, "--seed", "1", "--force"], env=env, check=True, cwd=ROOT)
    emit(name="demo_build", scale=scale, seconds=round(time.perf_counter() - started, 1))


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "jicai.settings"
    os.environ.setdefault("JICAI_WEB", "1")  # the web processes' PostgreSQL session settings (jicai/wsgi.py)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["medium", "province", "small"])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/jicai_lists")
    parser.add_argument("--only", default="", help="regex on the URL")
    parser.add_argument("--skip", default="", help="regex on the URL: lists left out")
    parser.add_argument("--persona", default="", choices=["", "largest_institution", "province_bureau"])
    parser.add_argument("--target-ms", type=float, default=TARGET_MS)
    parser.add_argument(
        "--collect",
        action="store_true",
        help="gc.collect() before each timed request: this process keeps every response's context, and a "
        "full collection of that heap inside a request is the bench's cost, not the list's",
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.postgres
    if not args.reuse:
        build(args.postgres, args.scale)
    setup_django()
    from django.core.management import call_command

    from jicai.trade.models import Order

    if args.reuse:
        call_command("migrate", verbosity=0)  # new indexes apply to the reused database
        if not Order.objects.exists():
            build(args.postgres, args.scale)
    # Planner statistics for every table: the demo ANALYZEs the tables it bulk-loads, but not the small
    # ones (regions, institutions), and this server runs with autovacuum off. Without them PostgreSQL
    # guesses that a province's region prefix matches one region and sorts every order instead of
    # reading the newest-first index (orders list 333 ms → 3 ms).
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    measure(args)


def personas():
    from django.db.models import Count

    from jicai.accounts.models import Organisation, Role, User
    from jicai.trade.models import Order

    largest = Order.objects.values("institution_id").annotate(n=Count("id")).order_by("-n").first()
    org = Organisation.objects.get(institution_id=largest["institution_id"])
    user, _ = User.objects.update_or_create(
        username="bench_largest",
        defaults={"organisation": org, "role": Role.INSTITUTION, "full_name": "基准测试"},
    )
    province = User.objects.get(username="province")
    found = []
    for label, who, orders in (
        ("largest_institution", user, largest["n"]),
        ("province_bureau", province, None),
    ):
        found.append((label, who, api_token(who, "bench-lists"), orders))
    return found


def api_token(user, name: str) -> str:
    """A fresh API token of the user's organisation and role named `name` (the older one replaced)."""
    from jicai.accounts.models import ApiToken

    key = ApiToken.new_key()
    ApiToken.objects.filter(organisation=user.organisation, name=name).delete()
    ApiToken.objects.create(
        organisation=user.organisation,
        name=name,
        role=user.role,
        prefix=key[: ApiToken.PREFIX_LEN],
        key_hash=ApiToken.hash_key(key),
    )
    return key


def web_candidates() -> list[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    urls = []

    def walk(patterns, prefix):
        for p in patterns:
            route = str(p.pattern)
            if "<" in route or "(?P" in route:
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                urls.append("/" + prefix + route)

    walk(get_resolver().url_patterns, "")
    return sorted({u for u in urls if not SKIP.search(u) and not u.startswith("/api/")})


def api_lists(client) -> list[str]:
    schema = client.get("/api/v1/openapi.json").json()
    found = []
    for path, ops in schema["paths"].items():
        get = ops.get("get")
        if not get or "{" in path:
            continue
        ok = get.get("responses", {}).get("200", {})
        ref = json.dumps(ok)
        if re.search(r'#/components/schemas/\w+Page"', ref):
            found.append(path)
    return sorted(found)


def newest_national_batch() -> str:
    from jicai.batches.models import Batch

    return Batch.objects.filter(kind="national").order_by("-cycle_start").values_list("code", flat=True)[0]


def required_query(path: str) -> str:
    """Lists with required query parameters get those of their default page: the assessments of the
    newest national batch's first agreement year (what `/funds/assessment/` shows without parameters);
    the demand review (`/api/v1/demand-review`) of the year that ended last; the supplier scorecards
    (`/api/v1/scorecards`) of that batch in the quarter of the newest monitoring date."""
    if path == "/api/v1/assessments":
        return f"?batch_code={newest_national_batch()}&year=1"
    if path == "/api/v1/demand-review":
        return last_ended_year()
    if path == "/api/v1/scorecards":
        return f"?batch={newest_national_batch()}&quarter={newest_order_quarter()}"
    return ""


def last_ended_year() -> str:
    """The demand review's query for the agreement year that ended last before the newest monitoring date (the
    review page's default; a year still running answers 400)."""
    from django.db.models import Max

    from jicai.batches.models import AgreementYear
    from jicai.monitoring.models import MonitoringRun

    day = MonitoringRun.objects.aggregate(d=Max("as_of"))["d"]
    year = AgreementYear.objects.filter(end__lt=day).select_related("batch").order_by("-end").first()
    if year is None:
        return f"?batch={newest_national_batch()}&year=1"
    return f"?batch={year.batch.code}&year={year.number}"


def newest_order_quarter() -> str:
    """The quarter of the newest monitoring run's date (the demo's today; the scorecards' default quarter is
    the real today's, empty in a demo built for an earlier day), else of the newest order line."""
    from django.db.models import Max

    from jicai.monitoring.models import MonitoringRun
    from jicai.monitoring.notices import quarter_of
    from jicai.trade.models import OrderLine

    day = (
        MonitoringRun.objects.aggregate(d=Max("as_of"))["d"]
        or OrderLine.objects.aggregate(d=Max("ordered_on"))["d"]
    )
    return quarter_of(day).code


# Pages measured also with parameters: the demand review of the newest national batch's first year (the
# page's default is the year that ended last, which may be another batch's).
EXTRA_WEB = {"/compliance/review/": lambda: f"?batch={newest_national_batch()}&year=1"}
# List pages without a paginator (one row per supplier), measured with the parameters of the API's list: the
# supplier scorecards of the newest national batch in the quarter of the newest monitoring date.
UNPAGED_WEB = {
    "/monitoring/scorecards/": lambda: f"?batch={newest_national_batch()}&quarter={newest_order_quarter()}"
}


def measure(args) -> None:
    import logging

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # 403/404 while finding list pages
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from jicai.api import pagination
    from jicai.web import tables

    setup_test_environment()  # response.context, to recognise list pages by their paginator
    capped = tables.capped_count

    def full_count(queryset, cap=None):
        return queryset.count(), True

    def use(counter):
        tables.capped_count = counter
        pagination.capped_count = counter

    from jicai.trade.models import Order, OrderLine

    emit(
        name="dataset",
        scale=args.scale,
        database=connection.vendor,
        orders=Order.objects.count(),
        order_lines=OrderLine.objects.count(),
    )
    summary = {"lists": 0, "met": 0, "worst": None}
    only = re.compile(args.only) if args.only else None
    skip = re.compile(args.skip) if args.skip else None
    for label, user, key, orders in personas():
        if args.persona and label != args.persona:
            continue
        client = Client()
        client.force_login(user)
        token = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        targets = []
        for url in web_candidates():
            if (only and not only.search(url)) or (skip and skip.search(url)):
                continue
            response = client.get(url)
            if url in UNPAGED_WEB:
                if response.status_code == 200:
                    targets.append(("web", url + UNPAGED_WEB[url](), {}))
                continue
            if response.status_code == 200 and response.context and "paginator" in response.context:
                targets.append(("web", url, {}))
                if url in EXTRA_WEB:
                    targets.append(("web", url + EXTRA_WEB[url](), {}))
        for path in api_lists(client):
            if (only and not only.search(path)) or (skip and skip.search(path)):
                continue
            targets.append(("api", path + required_query(path), token))
        emit(name="persona", persona=label, username=user.username, orders=orders, lists=len(targets))
        for kind, url, headers in targets:
            timings = {"capped": [], "full": []}
            status = None
            for mode in ("capped", "full"):  # warm-up
                use(capped if mode == "capped" else full_count)
                client.get(url, **headers)
            for _ in range(args.repeat):
                for mode in ("capped", "full"):
                    use(capped if mode == "capped" else full_count)
                    if args.collect:
                        gc.collect()  # the garbage of earlier requests is not this request's time
                    started = time.perf_counter()
                    response = client.get(url, **headers)
                    timings[mode].append((time.perf_counter() - started) * 1000)
                    status = response.status_code
            use(capped)
            count = None
            if kind == "api" and status == 200:
                body = client.get(url, **headers).json()
                count = f"{body['count']}{'' if body['count_exact'] else '+'}"
            elif status == 200:
                context = client.get(url, **headers).context
                count = context["paginator"].count_label if "paginator" in context else len(context["cards"])
            p95 = percentile(timings["capped"], 0.95)
            old_p95 = percentile(timings["full"], 0.95)
            if status in (403, 404):
                # Not this persona's list (scoped away, as it must be): reported, not counted.
                emit(name="not_for_persona", persona=label, kind=kind, url=url, status=status)
                continue
            met = status == 200 and p95 <= args.target_ms  # an error answer is not a list served
            summary["lists"] += 1
            summary["met"] += met
            if summary["worst"] is None or p95 > summary["worst"][2]:
                summary["worst"] = (label, url, round(p95, 1))
            emit(
                name="list",
                persona=label,
                kind=kind,
                url=url,
                status=status,
                count=count,
                p50_ms=round(statistics.median(timings["capped"]), 1),
                p95_ms=round(p95, 1),
                full_count_p50_ms=round(statistics.median(timings["full"]), 1),
                full_count_p95_ms=round(old_p95, 1),
                ratio_p95=round(old_p95 / p95, 2) if p95 else None,
                target_ms=args.target_ms,
                met=met,
            )
    emit(name="summary", scale=args.scale, repeat=args.repeat, **summary)


if __name__ == "__main__":
    main()
