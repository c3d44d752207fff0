"""Step: manufacturers (generic, originator, consumable makers) and distributors with valid USCC codes."""

from jicai.core.codes import ORG_ALPHABET, USCC_ALPHABET, make_uscc, org_code_check_char
from jicai.demo.context import DemoContext
from jicai.demo.data import companies as data
from jicai.registry.models import Company, CompanyKind

# Characters valid in both the organisation-code part (GB 11714) and the USCC alphabet (GB 32100).
_ORG_BODY_CHARS = "".join(ch for ch in ORG_ALPHABET if ch in USCC_ALPHABET)


def enterprise_segment(index: int) -> str:
    """The 5-digit enterprise segment of the company's NHSA product codes (unique per company)."""
    return f"{(index * 7919 + 1021) % 100000:05d}"


def _uscc(rng, region_code: str, taken: set[str]) -> str:
    while True:
        body8 = "MA" + "".join(rng.choice(_ORG_BODY_CHARS) for _ in range(6))
        code = make_uscc("91" + region_code + body8 + org_code_check_char(body8))
        if code not in taken:
            taken.add(code)
            return code


def build_companies(ctx: DemoContext) -> None:
    rng, taken = ctx.rng, set()
    rows: list[tuple[str, str, str, str]] = []  # (group, name, region, kind)
    rows += [("generic", n, r, CompanyKind.MANUFACTURER) for n, r in data.GENERIC_MAKERS]
    rows += [("originator", n, r, CompanyKind.MANUFACTURER) for n, r in data.ORIGINATOR_MAKERS]
    rows += [("consumable", n, r, CompanyKind.MANUFACTURER) for n, r in data.CONSUMABLE_MAKERS]
    rows += [("distributor", n, r, CompanyKind.DISTRIBUTOR) for n, r in data.PROVINCIAL_DISTRIBUTORS]
    for city in ctx.cities:
        short = city.name.removesuffix("市")
        rows += [
            ("distributor", p.format(city=short), city.code, CompanyKind.DISTRIBUTOR)
            for p in data.CITY_DISTRIBUTOR_PATTERNS
        ]
    companies = Company.objects.bulk_create(
        [Company(code=_uscc(rng, region, taken), name=name, kind=kind) for _, name, region, kind in rows]
    )
    for (group, *_), company in zip(rows, companies, strict=True):
        ctx.companies[company.name] = company
        if group == "distributor":
            ctx.distributors.append(company)
        else:
            ctx.manufacturers.setdefault(group, []).append(company)
    # Product-code enterprise segments follow the fixed order above, independent of the random USCC bodies.
    for index, company in enumerate(companies):
        company.enterprise_segment = enterprise_segment(index + 1)
    ctx.log(
        f"{sum(len(v) for v in ctx.manufacturers.values())} 家生产企业、{len(ctx.distributors)} 家配送企业"
    )
