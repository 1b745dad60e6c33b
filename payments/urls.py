from django.urls import path

from . import views

urlpatterns = [
    path("orders/<int:order_id>/payment", views.OrderPaymentView.as_view(), name="order-payment"),
    path("payments/connect", views.ConnectView.as_view(), name="payments-connect"),
    path("payments/webhook", views.WebhookView.as_view(), name="payments-webhook"),
]
