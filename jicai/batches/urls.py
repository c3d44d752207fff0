from django.urls import path

from jicai.batches import views

app_name = "batches"
urlpatterns = [
    path("", views.batch_list, name="batches"),
    # Before "<code>/" so a batch code can never shadow it.
    path("listing-prices/", views.listing_price_list, name="listing_prices"),
    path("<str:code>/", views.batch_detail, name="batch"),
    path("<str:code>/items/", views.item_list, name="items"),
    path("<str:code>/items/<str:item_code>/", views.item_detail, name="item"),
    path("<str:code>/winners/", views.winner_list, name="winners"),
    path("<str:code>/substitutes/", views.substitute_list, name="substitutes"),
]
