"""Shared pieces for app routers: page-number pagination, the error schema for OpenAPI, decimal strings.

Every list endpoint takes `paging: Query[PageParams]` and returns `paginate(queryset, paging)` with the
response schema `page_of(ItemSchema)`: `{"count", "count_exact", "has_more", "page", "page_size", "results"}`.

Counts are capped at COUNT_CAP: a full `COUNT(*)` over 100 000 orders of one institution costs half a second
on every page, while counting at most COUNT_CAP + 1 rows of a sub-select stops early. `count` is exact when
`count_exact` is true; otherwise there are more than COUNT_CAP rows and `count` is COUNT_CAP."""

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

from jicai.api.types import StrictInt
from jicai.core.counts import COUNT_CAP, capped_count

MAX_PAGE_SIZE = 500
# A page beyond this is refused (422) rather than turned into an OFFSET that overflows a 64-bit integer
# (SQLite OverflowError, PostgreSQL DataError); 100,000 pages of 500 rows is far past any real list.
MAX_PAGE = 100_000
DEFAULT_PAGE_SIZE = 50


class PageParams(Schema):
    page: StrictInt = Field(
        1, ge=1, le=MAX_PAGE, description=f"页码，从 1 开始，最多 {MAX_PAGE} / page number"
    )
    page_size: StrictInt = Field(
        DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"每页条数，最多 {MAX_PAGE_SIZE} / rows per page",
    )


def paginate(queryset: QuerySet, paging: PageParams) -> dict[str, Any]:
    """One capped COUNT and one page query (plus whatever prefetches the queryset carries); a page past the
    end is an empty `results` list, not an error, so clients can loop until results run out (or until
    `has_more` is false) — also past the count cap. The page query reads one row more than the page to know
    whether another page follows."""
    offset = (paging.page - 1) * paging.page_size
    count, exact = capped_count(queryset)
    rows = list(queryset[offset : offset + paging.page_size + 1])
    return {
        "count": count,
        "count_exact": exact,
        "has_more": len(rows) > paging.page_size,
        "page": paging.page,
        "page_size": paging.page_size,
        "results": rows[: paging.page_size],
    }


def paginate_rows(rows: list, paging: PageParams, convert=None) -> dict[str, Any]:
    """The same page shape over rows already computed in Python (a report's rows, not a queryset): the count is
    exact, `convert` (if given) turns each row of the page into its output form."""
    offset = (paging.page - 1) * paging.page_size
    page = rows[offset : offset + paging.page_size]
    return {
        "count": len(rows),
        "count_exact": True,
        "has_more": len(rows) > offset + paging.page_size,
        "page": paging.page,
        "page_size": paging.page_size,
        "results": [convert(r) for r in page] if convert else page,
    }


_page_schemas: dict[type, type] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The paginated response schema for item_schema, named "<Item>Page" in OpenAPI."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Out") + "Page"
        _page_schemas[item_schema] = create_model(
            name,
            __base__=Schema,
            count=(
                int,
                Field(
                    ...,
                    description=f"符合条件的总条数，最多计到 {COUNT_CAP} / rows matching the filters, counted up "
                    f"to {COUNT_CAP}: exact when count_exact, otherwise there are more than {COUNT_CAP}",
                ),
            ),
            count_exact=(
                bool,
                Field(
                    ...,
                    description=f"count 是否为精确总数（超过 {COUNT_CAP} 条时为 false）/ "
                    f"false when more than {COUNT_CAP} rows match",
                ),
            ),
            has_more=(bool, Field(..., description="是否还有下一页 / whether a next page has rows")),
            page=(int, ...),
            page_size=(int, ...),
            results=(list[item_schema], ...),
        )
    return _page_schemas[item_schema]


class ErrorDetail(Schema):
    code: str = Field(
        ..., description="stable machine-readable code, e.g. not_found, unauthorized, validation_error"
    )
    message: str = Field(..., description="human-readable message (Chinese)")
    details: Any = Field(
        ..., description="list of specifics, e.g. [{loc, reason, type}] for validation errors"
    )


class ErrorOut(Schema):
    error: ErrorDetail


def with_errors(ok: Any, *statuses: int, ok_status: int = 200) -> dict[int, Any]:
    """Response map for an operation: the success schema plus the error shape for each listed status."""
    responses: dict[int, Any] = {ok_status: ok}
    for status in (401, 422, *statuses):
        responses[status] = ErrorOut
    return responses


def decimal_str(value: Decimal | None, places: int | None = None) -> str | None:
    """A Decimal as an exact string: fixed `places` decimals (prices, amounts) or, without places, the
    shortest plain form ("0.5", "1", "12") — never exponent notation, never a float."""
    if value is None:
        return None
    value = Decimal(value)
    if places is not None:
        return f"{value.quantize(Decimal(1).scaleb(-places)):f}"
    normalized = value.normalize()
    return f"{normalized:f}"


def optional_related(path: str) -> staticmethod:
    """A Schema resolver for a value read through a nullable relation: `resolve_distributor_code =
    optional_related("distributor.code")` gives `obj.distributor.code`, or None when a link is empty.
    (For relations that are never null, use `Field(..., alias="institution.code")` instead.)"""
    names = path.split(".")

    def resolve(obj: Any) -> Any:
        value = obj
        for name in names:
            if value is None:
                return None
            value = getattr(value, name)
        return value

    return staticmethod(resolve)
