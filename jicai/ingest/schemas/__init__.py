"""The registry of import kinds: one Schema per kind (SPEC §10). Transaction kinds (agreed-volumes,
orders, deliveries, receipts, payments, usage) are added here by later issues, each in its own module."""

from jicai.ingest.schemas.agreed_volumes import AgreedVolumeSchema
from jicai.ingest.schemas.base import Schema
from jicai.ingest.schemas.batches import BatchSchema
from jicai.ingest.schemas.companies import CompanySchema
from jicai.ingest.schemas.deliveries import DeliverySchema
from jicai.ingest.schemas.departments import DepartmentSchema, DoctorSchema
from jicai.ingest.schemas.exemptions import ExemptionSchema
from jicai.ingest.schemas.history import HistorySchema
from jicai.ingest.schemas.institutions import InstitutionSchema
from jicai.ingest.schemas.items import ItemSchema
from jicai.ingest.schemas.listing_prices import ListingPriceSchema
from jicai.ingest.schemas.orders import OrderSchema
from jicai.ingest.schemas.payments import PaymentSchema
from jicai.ingest.schemas.products import ProductSchema
from jicai.ingest.schemas.receipts import ReceiptSchema
from jicai.ingest.schemas.reference_prices import ReferencePriceSchema
from jicai.ingest.schemas.regions import RegionSchema
from jicai.ingest.schemas.substitutes import SubstituteSchema
from jicai.ingest.schemas.usage import UsageSchema
from jicai.ingest.schemas.winners import WinnerSchema

SCHEMAS: dict[str, Schema] = {
    schema.kind: schema
    for schema in (
        RegionSchema(),
        InstitutionSchema(),
        CompanySchema(),
        ProductSchema(),
        BatchSchema(),
        ItemSchema(),
        WinnerSchema(),
        SubstituteSchema(),
        ListingPriceSchema(),
        AgreedVolumeSchema(),
        HistorySchema(),
        OrderSchema(),
        DeliverySchema(),
        ReceiptSchema(),
        PaymentSchema(),
        UsageSchema(),
        DepartmentSchema(),
        DoctorSchema(),
        ReferencePriceSchema(),
        ExemptionSchema(),
    )
}
