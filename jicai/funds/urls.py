from django.urls import path

from jicai.funds import views

app_name = "funds"
urlpatterns = [
    path("standards/", views.standard_list, name="standards"),
    path("calculator/", views.calculator, name="calculator"),
    path("prepayment/", views.ledger, name="ledger"),
    path("prepayment/institutions/<str:institution_code>/", views.ledger, name="ledger_institution"),
    path("prepayment/tranches/<int:pk>/", views.tranche_detail, name="tranche"),
    path("clearance/", views.clearance_list, name="clearances"),
    path(
        "clearance/<str:institution_code>/<str:batch_code>/<int:number>/",
        views.clearance_statement,
        name="clearance",
    ),
    path("assessment/", views.assessment_ranking, name="assessment"),
    path("assessment/exemptions/", views.exemption_list, name="exemptions"),
    path("assessment/finalise/", views.assessment_finalise, name="assessment_finalise"),
    path(
        "assessment/institutions/<str:institution_code>/",
        views.assessment_institution,
        name="assessment_institution",
    ),
]
