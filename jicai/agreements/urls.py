from django.urls import path

from jicai.agreements import views

app_name = "agreements"
urlpatterns = [
    path("", views.agreement_list, name="agreements"),
    path("sign/", views.agreement_bulk_sign, name="bulk_sign"),
    path("generate/", views.agreement_generate, name="generate"),
    path("<int:pk>/", views.agreement_detail, name="detail"),
    path("<int:pk>/sign/", views.agreement_sign, name="sign"),
    path("<int:pk>/print/", views.agreement_print, name="print"),
    path("volumes/", views.volume_list, name="volumes"),
    path("volumes/compute/", views.volume_compute, name="volume_compute"),
    path("volumes/<int:pk>/", views.volume_detail, name="volume"),
    path("volumes/<int:pk>/adjust/", views.volume_adjust, name="volume_adjust"),
    path("delivery/", views.relationship_list, name="delivery_relationships"),
    path("delivery/set/", views.relationship_set, name="relationship_set"),
    path("delivery/<str:region_code>/remove/", views.relationship_remove, name="relationship_remove"),
]
