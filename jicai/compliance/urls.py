from django.urls import path

from jicai.compliance import views

app_name = "compliance"

urlpatterns = [
    path("consistency/", views.consistency_page, name="consistency"),
    path("ratings/", views.ratings_page, name="ratings"),
    path("review/", views.review_page, name="review"),
    path("certificates/", views.certificates_page, name="certificates"),
    path("overlaps/", views.overlaps_page, name="overlaps"),
]
