"""Effective policy for a (region, batch): which value applies and where it came from (SPEC §3).

Resolution walks the region chain from the given region up to its province, then the platform profile
(region=None). At each step a (region, batch) profile beats a (region, no batch) profile; the first
profile that sets a parameter wins; otherwise the SPEC default applies.
"""

from dataclasses import dataclass

from django.db.models import Q

from jicai.batches.models import Batch
from jicai.policy.models import PolicyProfile
from jicai.policy.parameters import BY_NAME, PARAMETERS, Parameter, get_parameter
from jicai.registry.models import Region

DEFAULT_SOURCE = "默认值（SPEC）"


@dataclass(frozen=True)
class ParameterRow:
    """One line of the policy table shown on the page and returned by the API."""

    parameter: Parameter
    value: object
    source: str

    @property
    def name(self) -> str:
        return self.parameter.name

    @property
    def label(self) -> str:
        return self.parameter.label

    @property
    def display(self) -> str:
        return self.parameter.display(self.value)

    @property
    def json_value(self):
        return self.parameter.to_json(self.value)

    @property
    def source_text(self) -> str:
        return self.parameter.source


class Policy:
    """Effective parameter values with attribute access (`policy.report_drop_threshold`)."""

    def __init__(self, *, region: Region | None, batch: Batch | None, values: dict, sources: dict[str, str]):
        self.region = region
        self.batch = batch
        self._values = values
        self._sources = sources

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(f"未知的政策参数：{name}") from None

    def __getitem__(self, name: str):
        return self._values[name]

    def source(self, name: str) -> str:
        """Where the value of `name` came from, in Chinese (默认值（SPEC）, 山东省配置, …)."""
        get_parameter(name)
        return self._sources.get(name, DEFAULT_SOURCE)

    def rows(self) -> list[ParameterRow]:
        return [ParameterRow(p, self._values[p.name], self.source(p.name)) for p in PARAMETERS]

    def as_dict(self) -> dict:
        return dict(self._values)

    def __repr__(self):
        return (
            f"<Policy region={getattr(self.region, 'code', None)} batch={getattr(self.batch, 'code', None)}>"
        )


def describe_profile(profile: PolicyProfile) -> str:
    where = f"{profile.region.name}配置" if profile.region_id else "全平台配置"
    return f"{where}（批次 {profile.batch.code}）" if profile.batch_id else where


def region_chain_codes(region: Region | None) -> list[str]:
    """Codes from the region itself up to its province (nearest first)."""
    return list(reversed(region.ancestor_codes())) if region is not None else []


class PolicyResolver:
    """Resolves many (region, batch) pairs from profiles loaded once.

    Build it with `PolicyResolver.load()` (one query for every profile on the platform) or pass the
    profiles yourself; `resolve` then runs no queries, so monitoring can resolve a whole province.
    """

    def __init__(self, profiles):
        # Keyed by (region code or None, batch id or None): region codes, because a Region's path gives
        # its ancestors' codes without another query.
        self._profiles: dict[tuple[str | None, int | None], PolicyProfile] = {}
        # Parsed once here so resolving thousands of pairs does not re-parse the same JSON. Stored values
        # were validated on write; a name no longer declared (a retired parameter) is ignored.
        self._parsed: dict[int, dict] = {}
        for profile in profiles:
            code = profile.region.code if profile.region_id else None
            self._profiles[(code, profile.batch_id)] = profile
            self._parsed[id(profile)] = {
                name: get_parameter(name).parse(raw)
                for name, raw in (profile.values or {}).items()
                if name in BY_NAME
            }

    @classmethod
    def load(cls, queryset=None) -> "PolicyResolver":
        qs = queryset if queryset is not None else PolicyProfile.objects.all()
        return cls(list(qs.select_related("region", "batch")))

    def steps(self, region: Region | None, batch: Batch | None) -> list[PolicyProfile]:
        """Profiles that apply, highest priority first."""
        batch_id = batch.pk if batch is not None else None
        found = []
        for code in [*region_chain_codes(region), None]:
            for key in ((code, batch_id), (code, None)) if batch_id is not None else ((code, None),):
                profile = self._profiles.get(key)
                if profile is not None:
                    found.append(profile)
        return found

    def resolve(self, region: Region | None = None, batch: Batch | None = None) -> Policy:
        values, sources = {}, {}
        steps = self.steps(region, batch)
        for parameter in PARAMETERS:
            values[parameter.name] = parameter.default
            for profile in steps:
                parsed = self._parsed[id(profile)]
                if parameter.name in parsed:
                    values[parameter.name] = parsed[parameter.name]
                    sources[parameter.name] = describe_profile(profile)
                    break
        return Policy(region=region, batch=batch, values=values, sources=sources)


def effective_policy(*, region: Region | None = None, batch: Batch | None = None) -> Policy:
    """The policy in force for `region` (None: platform-wide) and `batch` (None: any batch); one query."""
    codes = region_chain_codes(region)
    qs = PolicyProfile.objects.filter(Q(region__code__in=codes) | Q(region__isnull=True))
    qs = qs.filter(batch__isnull=True) if batch is None else qs.filter(Q(batch=batch) | Q(batch__isnull=True))
    return PolicyResolver.load(qs).resolve(region, batch)
