from django.urls import path

from . import views

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
