"""The REST scenario's baseline: a bare DRF list view over the same orders, served by the same
process as ECHO (bench/rest_settings.py adds its URL): what a plain ModelSerializer list of a
user's orders costs, with no state, moves or payment columns."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination

from echo_site.urls import urlpatterns as echo_urlpatterns
from orders.models import Order


class BareOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "buyer", "creator", "item", "final_price", "status", "last_seq",
                  "created_at", "updated_at", "completed_at"]  # fmt: skip


class BarePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class BareOrderList(ListAPIView):  # type: ignore[type-arg]
    serializer_class = BareOrderSerializer
    pagination_class = BarePagination

    def get_queryset(self) -> Any:
        return Order.objects.filter(buyer=self.request.user).order_by("-created_at", "-id")


urlpatterns = [path("bench/bare-orders", BareOrderList.as_view()), *echo_urlpatterns]
