from django.urls import path

from . import views

urlpatterns = [
    path("api/me/notifications", views.PreferencesView.as_view(), name="me-notifications"),
    path(
        "api/me/push-subscriptions",
        views.PushSubscriptionsView.as_view(),
        name="me-push-subscriptions",
    ),
    path("api/me/push-key", views.PushKeyView.as_view(), name="me-push-key"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="notify-unsubscribe"),
    path("sw.js", views.service_worker, name="service-worker"),
]
