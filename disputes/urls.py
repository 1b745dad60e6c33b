from django.urls import path

from . import views

urlpatterns = [
    path("disputes", views.DisputeListView.as_view(), name="dispute-list"),
    path("disputes/open", views.OpenDisputesView.as_view(), name="dispute-open-list"),
    path("disputes/user/my-disputes", views.MyDisputesView.as_view(), name="dispute-mine"),
    path("disputes/order/<int:order_id>", views.OrderDisputesView.as_view(), name="dispute-order"),
    path("disputes/<int:dispute_id>", views.DisputeDetailView.as_view(), name="dispute-detail"),
    path(
        "disputes/<int:dispute_id>/messages",
        views.DisputeMessagesView.as_view(),
        name="dispute-messages",
    ),
    path("disputes/<int:dispute_id>/close", views.DisputeCloseView.as_view(), name="dispute-close"),
]
