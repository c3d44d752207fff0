"""API for SPEC §12 money: the payment-standards table for the settlement system and the settlement quote.

Thin: reads go through funds.standards with the acting organisation. Prices and amounts are exact decimal
strings, never floats."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from jicai.api.pagination import PageParams, decimal_str, page_of, paginate, paginate_rows, with_errors
from jicai.core.errors import NotFound
from jicai.funds import assessment, clearance, prepayment, standards
from jicai.trade.models import OrderLine

router = Router()

PRICE = "元/最小制剂单位，精确十进制字符串，4 位小数 / exact decimal string, 4 decimals"
AMOUNT = "元，精确十进制字符串，2 位小数（四舍五入）/ yuan, exact decimal string, 2 decimals, half up"


class StandardOut(Schema):
    batch_code: str
    item_code: str
    province_code: str
    product_code: str
    role: str = Field(..., description="main/backup/backup2/nonsupply；非中选产品为空字符串")
    item_factor: str
    winning_standard: str = Field(
        ..., description="中选支付标准 S = 主供中选价 / 主供折算系数 × 本品折算系数；" + PRICE
    )
    standard: str = Field(..., description="当日执行的支付标准（过渡期产品为过渡标准）；" + PRICE)
    gliding: bool = Field(..., description="是否处于支付标准过渡期")
    agreement_year: int
    valid_from: dt.date

    @staticmethod
    def resolve_item_factor(obj) -> str:
        return decimal_str(obj.item_factor)

    @staticmethod
    def resolve_winning_standard(obj) -> str:
        return decimal_str(obj.winning_standard, 4)

    @staticmethod
    def resolve_standard(obj) -> str:
        return decimal_str(obj.standard, 4)


@router.get(
    "/settlement/standards",
    response=with_errors(page_of(StandardOut), 404),
    summary="医保支付标准表（供结算系统使用）",
)
def list_standards(
    request,
    paging: Query[PageParams],
    province_code: str = Query("", description="省份代码（管理员必填；其他用户默认本省）"),
    on: dt.date | None = None,
    batch_code: str = "",
    q: str = Query("", description="产品编码、通用名或品种编码包含"),
):
    _, rows = standards.list_standards(
        request.actor, province_code=province_code, on=on or timezone.localdate(), batch_code=batch_code, q=q
    )
    return paginate_rows(rows, paging)


class QuoteIn(Schema):
    product_code: str
    qty: int = Field(..., gt=0, le=1_000_000_000, description="最小制剂单位数量")
    unit_price: Decimal = Field(
        ..., ge=0, max_digits=14, decimal_places=4, description="实际单价（元/最小制剂单位），最多 4 位小数"
    )
    on: dt.date | None = Field(None, description="结算日期，默认今天")
    province_code: str = Field("", description="省份代码（管理员必填；其他用户默认本省）")
    batch_code: str = Field("", description="限定批次（批次重叠时默认最新批次）")
    selfpay_ratio: Decimal = Field(Decimal(0), ge=0, le=1, description="先行自付比例 s")
    fund_ratio: Decimal | None = Field(
        None, ge=0, le=1, description="基金支付比例 r，默认本地区 fund_payment_ratio"
    )


class QuoteOut(Schema):
    product_code: str
    batch_code: str
    item_code: str
    non_winning: bool
    standard: str = Field(..., description=PRICE)
    total: str = Field(..., description=AMOUNT)
    eligible: str = Field(..., description="符合支付标准的金额 min(p, S) × qty；" + AMOUNT)
    above_standard: str = Field(..., description="超出支付标准部分（患者负担）；" + AMOUNT)
    selfpay_ratio: str = Field(..., description="实际先行自付比例（非中选且高于标准时已加上提高幅度）")
    fund_ratio: str
    fund: str = Field(..., description="基金支付 = eligible × (1 − s) × r；" + AMOUNT)
    patient: str = Field(..., description="患者支付 = total − fund；" + AMOUNT)


@router.post(
    "/settlement/quote", response=with_errors(QuoteOut, 400, 404), summary="结算试算：基金与患者负担"
)
def settlement_quote(request, body: QuoteIn):
    row, result = standards.quote(
        request.actor,
        product_code=body.product_code,
        qty=body.qty,
        unit_price=body.unit_price,
        on=body.on or timezone.localdate(),
        province_code=body.province_code,
        batch_code=body.batch_code,
        selfpay_ratio=body.selfpay_ratio,
        fund_ratio=body.fund_ratio,
    )
    return {
        "product_code": row.product_code,
        "batch_code": row.batch_code,
        "item_code": row.item_code,
        "non_winning": row.non_winning,
        "standard": decimal_str(result.standard, 4),
        "total": decimal_str(result.total, 2),
        "eligible": decimal_str(result.eligible, 2),
        "above_standard": decimal_str(result.above_standard, 2),
        "selfpay_ratio": decimal_str(result.selfpay_ratio),
        "fund_ratio": decimal_str(result.fund_ratio),
        "fund": decimal_str(result.fund, 2),
        "patient": decimal_str(result.patient, 2),
    }


# ---- prepayment ----------------------------------------------------------------------------------


class TrancheOut(Schema):
    id: int
    institution: str = Field(..., alias="institution.code")
    batch: str = Field(..., alias="agreement_year.batch.code")
    agreement_year: int = Field(..., alias="agreement_year.number")
    tranche: str = Field(..., description="1、2 或 topup-YYYY-MM")
    amount: str = Field(..., description=AMOUNT)
    triggered_on: dt.date
    due_on: dt.date
    paid_amount: str = Field(..., description=AMOUNT)
    paid_on: dt.date | None

    @staticmethod
    def resolve_amount(obj) -> str:
        return decimal_str(obj.amount, 2)

    @staticmethod
    def resolve_paid_amount(obj) -> str:
        return decimal_str(obj.paid_amount, 2)


@router.get(
    "/prepayment/tranches",
    response=with_errors(page_of(TrancheOut)),
    summary="医保基金预付款（本机构或辖区）",
)
def list_tranches(request, paging: Query[PageParams], institution_code: str = "", batch_code: str = ""):
    qs = prepayment.visible_tranches(request.actor).order_by(
        "institution__code",
        "agreement_year__batch__code",
        "agreement_year__number",
        "triggered_on",
        "tranche",
    )
    if institution_code:
        qs = qs.filter(institution__code=institution_code)
    if batch_code:
        qs = qs.filter(agreement_year__batch__code=batch_code)
    return paginate(qs, paging)


class DisbursementIn(Schema):
    amount: Decimal = Field(
        ..., gt=0, max_digits=17, decimal_places=2, description="拨付金额（元），最多 2 位小数"
    )
    paid_on: dt.date


@router.post(
    "/prepayment/tranches/{tranche_id}/disbursements",
    response=with_errors(TrancheOut, 400, 404, ok_status=201),
    summary="医保局记录预付款拨付（可分次，累计不超过该笔金额）",
)
def record_disbursement(request, tranche_id: int, body: DisbursementIn):
    prepayment.record_disbursement(
        actor=request.actor, tranche_id=tranche_id, amount=body.amount, paid_on=body.paid_on
    )
    return 201, prepayment.get_tranche(request.actor, tranche_id)


# ---- assessment ----------------------------------------------------------------------------------


class AssessmentItemOut(Schema):
    item: str
    agreed: int
    purchased: float
    completion: float | None
    exempt: str | None


class AssessmentOut(Schema):
    institution: str
    score: float
    grade: str
    retention_rate: float
    saving_base: float
    retained: float
    finalised: bool
    stored_at: dt.datetime | None = None
    items: list[AssessmentItemOut]


class AssessmentPage(page_of(AssessmentOut)):
    """The page plus how its rows were obtained (like the ranking page): a scope of more than
    `assessment.LIVE_LIMIT` institutions without a stored run for the date is not computed per request."""

    as_of: dt.date = Field(..., description="计算日期（读取存储的试算结果时为其计算日期）")
    finalised_only: bool = Field(
        ...,
        description="true：辖区机构超过实时计算上限且该计算日期没有存储的试算结果，只列出已定稿的结果；"
        "运行 store_command 存储试算结果后即可读取全部机构 / only finalised results are listed: the scope "
        "is too large to compute per request and no run is stored for the date",
    )
    store_command: str | None = Field(
        None, description="finalised_only 时：在服务器上存储该日试算结果的命令（jicai assess … --store）"
    )
    message: str | None = Field(None, description="finalised_only 时的说明（中文）")


@router.get(
    "/assessments",
    response=with_errors(AssessmentPage, 404),
    summary="集采执行考核（本机构或辖区，已定稿的为冻结结果；有存储的试算结果时读取它，stored_at 为存储时间，不含品种明细；"
    "辖区机构较多且该日没有存储的试算结果时只列出已定稿结果，finalised_only 为 true 并给出存储命令）",
)
def list_assessments(
    request, paging: Query[PageParams], batch_code: str, year: int, as_of: dt.date | None = None
):
    institutions = assessment.assessable_institutions(request.actor)
    agreement_year = assessment.get_year(batch_code, year)
    run = assessment.latest_run(agreement_year, as_of)
    as_of = run.as_of if run else (as_of or timezone.localdate())
    source = {"as_of": as_of, "finalised_only": False, "store_command": None, "message": None}
    ranked = assessment.run_ranking(agreement_year, run, institutions) if run else None
    if ranked is not None:  # a stored run: one page read and counted in SQL
        out = paginate(ranked, paging)
        assessment.ranking_rows(run, out["results"])
        out["results"] = [
            dict(assessment.result_json(r), finalised=False, stored_at=r["stored_at"]) for r in out["results"]
        ]
        return {**out, **source}
    if run is None and not assessment.live_allowed(institutions):
        # As the ranking page: a scope too large to compute per request (minutes for a province) without a
        # stored run for the date lists its finalised results only and names the command that stores a run.
        rows = assessment.finalised_results(agreement_year, institutions)
        command = assessment.store_command(agreement_year, as_of)
        source.update(
            finalised_only=True,
            store_command=command,
            message=f"尚无 {agreement_year.batch.code} 第{agreement_year.number}协议年度计算日期 "
            f"{as_of.isoformat()} 的存储试算结果。辖区机构较多，实时计算需数分钟，只列出已定稿的结果。"
            f"请在服务器上运行 {command}，完成后重新查询。",
        )
    else:
        rows = assessment.results(agreement_year, institutions, as_of, run=run)
    out = paginate_rows(
        rows,
        paging,
        lambda r: dict(assessment.result_json(r), finalised=r["finalised"], stored_at=r.get("stored_at")),
    )
    return {**out, **source}


class FinaliseIn(Schema):
    batch_code: str
    year: int


class FinaliseOut(Schema):
    finalised: int


@router.post(
    "/assessments/finalise",
    response=with_errors(FinaliseOut, 400, 404, ok_status=201),
    summary="医保局定稿辖区考核结果（协议年度结束后；不可重复定稿）",
)
def finalise_assessment(request, body: FinaliseIn):
    agreement_year = assessment.get_year(body.batch_code, body.year)
    created = assessment.finalise(actor=request.actor, year=agreement_year)
    return 201, {"finalised": len(created)}


class ClearanceOut(Schema):
    institution: str = Field(..., description="机构代码")
    institution_name: str
    batch: str
    agreement_year: int
    opens_on: dt.date = Field(..., description="清算起始日：协议年度结束日 + clearance_days")
    prepaid: str = Field(..., description="已预付（已拨付的预付款合计）；" + AMOUNT)
    used: str = Field(..., description="已使用：协议年度内入库的中选产品已付货款；" + AMOUNT)
    refund_due: str = Field(..., description="应退回 = max(0, 已预付 − 已使用)；" + AMOUNT)
    refunded: str = Field(..., description=AMOUNT)
    outstanding: str = Field(..., description="尚未退回；" + AMOUNT)
    balance: str = Field(..., description="该协议年度的预付款余额；" + AMOUNT)
    state: str = Field(..., description="not_open（未到清算期）/ refund_due（待退回）/ settled（已结清）")


def _clearance_json(r: dict) -> dict:
    return {
        "institution": r["institution__code"],
        "institution_name": r["institution__name"],
        "batch": r["agreement_year__batch__code"],
        "agreement_year": r["agreement_year__number"],
        "opens_on": r["opens_on"],
        **{
            k: decimal_str(r[k], 2)
            for k in ("prepaid", "used", "refund_due", "refunded", "outstanding", "balance")
        },
        "state": r["state"],
    }


@router.get(
    "/prepayment/clearances",
    response=with_errors(page_of(ClearanceOut)),
    summary="预付款清算（按机构与协议年度；本机构或辖区）",
)
def list_clearances(
    request,
    paging: Query[PageParams],
    institution_code: str = "",
    batch_code: str = "",
    agreement_year: int = 0,
):
    # Scoped like the tranches it sums: an institution its own, a bureau its subtree, suppliers nothing.
    qs = clearance.clearance_rows(request.actor, batch_code=batch_code, number=agreement_year or None)
    if institution_code:
        qs = qs.filter(institution__code=institution_code)
    page = paginate(qs, paging)
    clearance.fill_clearance(page["results"])
    page["results"] = [_clearance_json(r) for r in page["results"]]
    return page


class FundPaymentIn(Schema):
    order_id: str
    line_no: int
    amount: Decimal = Field(..., gt=0, max_digits=17, decimal_places=2)
    paid_on: dt.date
    invoice_no: str = ""


class FundPaymentOut(Schema):
    order_id: str
    line_no: int
    amount: str
    paid_on: dt.date
    payer: str = "fund"
    balance: str = Field(..., description="付款后该订单行所属协议年度的预付款余额；" + AMOUNT)


@router.post(
    "/prepayment/fund-payments",
    response=with_errors(FundPaymentOut, 400, 404, ok_status=201),
    summary="医保基金直接结算（payer = fund）：从本机构预付款余额向企业付款，超过余额拒绝",
)
def fund_payment(request, body: FundPaymentIn):
    line = (
        OrderLine.objects.filter(order__order_id=body.order_id, line_no=body.line_no)
        .select_related("order")
        .first()
    )
    if line is None:
        raise NotFound("未找到该订单行，或您无权查看")
    payment = clearance.record_fund_payment(
        actor=request.actor, line=line, amount=body.amount, paid_on=body.paid_on, invoice_no=body.invoice_no
    )
    return 201, {
        "order_id": body.order_id,
        "line_no": body.line_no,
        "amount": decimal_str(payment.amount, 2),
        "paid_on": payment.paid_on,
        "balance": decimal_str(
            clearance.balance_of(line.institution_id, payment.fund_payment.agreement_year_id), 2
        ),
    }
