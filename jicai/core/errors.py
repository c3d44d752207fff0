"""Domain errors shared by actions, imports, web views and the API (one error shape, SPEC §10)."""

from dataclasses import dataclass, field


class DomainError(Exception):
    """A rule refused an action. `message` is shown to users (Chinese); `code` is stable for API clients."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: object = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details if details is not None else []


class NotFound(DomainError):
    """Missing or outside the actor's scope: both answer 404 so scope is not revealed."""

    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an import: row number as the user counts it (header = row 1)."""

    row: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class ImportRejected(DomainError):
    """Every bad row of an import; nothing was written. The API answers 422 (unprocessable content)."""

    errors: list[RowError] = field(default_factory=list)
    status = 422

    def __post_init__(self):
        DomainError.__init__(
            self,
            f"导入被拒绝：共 {len(self.errors)} 处错误，未写入任何数据",
            code="import_rejected",
            details=[e.as_dict() for e in self.errors],
        )
