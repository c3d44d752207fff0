from django.urls import path, re_path

from jicai.ingest import views

app_name = "ingest"
urlpatterns = [
    path("", views.upload, name="upload"),
    re_path(r"^templates/(?P<kind>[a-z-]+)\.(?P<fmt>csv|xlsx)$", views.template_file, name="template"),
]
