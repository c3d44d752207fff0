from django.urls import path

from jicai.tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.ticket_list, name="tickets"),
    path("new/", views.ticket_new, name="ticket_new"),
    path("figures/", views.supplier_figures, name="figures"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("<int:ticket_id>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:ticket_id>/<slug:step>/", views.ticket_step, name="step"),
]
