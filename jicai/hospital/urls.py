from django.urls import path

from jicai.hospital import views

app_name = "hospital"
urlpatterns = [
    path("", views.quota_list, name="quotas"),
    path("volumes/<int:volume_id>/", views.volume_detail, name="volume"),
    path("departments/", views.department_list, name="departments"),
    path("doctors/", views.doctor_list, name="doctors"),
    path("interviews/", views.interview_list, name="interviews"),
]
