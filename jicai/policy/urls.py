from django.urls import path

from jicai.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.profile, name="profile"),
]
