from django.urls import path

from . import delivery_views, views
from .attachments import views as attachment_views

# Declared without a trailing slash; ApiTrailingSlashMiddleware routes "/..." the same way.
urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefresh.as_view(), name="auth-token-refresh"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("items", views.ItemListView.as_view(), name="item-list"),
    path("items/<int:item_id>", views.ItemDetailView.as_view(), name="item-detail"),
    path("orders", views.OrderListView.as_view(), name="order-list"),
    path("orders/<int:order_id>", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:order_id>/status", views.OrderStatusView.as_view(), name="order-status"),
    path("orders/<int:order_id>/events", views.OrderEventsView.as_view(), name="order-events"),
    path(
        "orders/<int:order_id>/messages", views.OrderMessagesView.as_view(), name="order-messages"
    ),
    path(
        "orders/<int:order_id>/attachments",
        attachment_views.OrderAttachmentUploadView.as_view(),
        name="order-attachments",
    ),
    path(
        "orders/<int:order_id>/deliveries",
        delivery_views.OrderDeliveriesView.as_view(),
        name="order-deliveries",
    ),
    path(
        "orders/<int:order_id>/deliveries/<int:delivery_id>/accept",
        delivery_views.DeliveryAcceptView.as_view(),
        name="delivery-accept",
    ),
    path(
        "orders/<int:order_id>/deliveries/<int:delivery_id>/revision",
        delivery_views.DeliveryRevisionView.as_view(),
        name="delivery-revision",
    ),
    path(
        "orders/<int:order_id>/revisions/grant",
        delivery_views.RevisionGrantView.as_view(),
        name="order-revisions-grant",
    ),
    path(
        "attachments/<int:attachment_id>",
        attachment_views.AttachmentLinkView.as_view(),
        name="attachment-link",
    ),
    path(
        "attachments/<int:attachment_id>/download",
        attachment_views.AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    path(
        "files/<str:token>", attachment_views.AttachmentFileView.as_view(), name="attachment-file"
    ),
    path("order-messages", views.OrderMessageCreateView.as_view(), name="order-message-create"),
    path("reviews", views.ReviewCreateView.as_view(), name="review-create"),
    path("reviews/user/<int:user_id>", views.UserReviewsView.as_view(), name="user-reviews"),
    path(
        "reviews/user/<int:user_id>/average",
        views.UserReviewAverageView.as_view(),
        name="user-review-average",
    ),
    path("reviews/order/<int:order_id>", views.OrderReviewView.as_view(), name="order-reviews"),
]
