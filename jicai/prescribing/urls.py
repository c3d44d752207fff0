from django.urls import path

from jicai.prescribing import views

app_name = "prescribing"
urlpatterns = [
    path("", views.prompt_list, name="prompts"),
    path("doctors/<str:doctor_code>/", views.doctor_prompts, name="doctor"),
    path("catalogue/", views.catalogue_page, name="catalogue"),
    path("limits/", views.limits_page, name="limits"),
]
