from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "jicai.ingest"
    label = "ingest"
