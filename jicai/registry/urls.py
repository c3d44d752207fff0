from django.urls import path

from jicai.registry import views

app_name = "registry"
urlpatterns = [
    path("regions/", views.region_list, name="regions"),
    path("regions/<str:code>/", views.region_detail, name="region"),
    path("institutions/", views.institution_list, name="institutions"),
    path("institutions/<str:code>/", views.institution_detail, name="institution"),
    path("consortia/", views.consortium_list, name="consortia"),
    path("consortia/<str:code>/", views.consortium_detail, name="consortium"),
    path("companies/", views.company_list, name="companies"),
    path("companies/<str:code>/", views.company_detail, name="company"),
    path("products/", views.product_list, name="products"),
    path("products/<str:code>/", views.product_detail, name="product"),
]
