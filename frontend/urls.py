from django.contrib.auth import views as auth_views
from django.urls import path

from echo_site.throttling import ThrottledAuthenticationForm, throttle_status

from . import views

app_name = "frontend"

urlpatterns = [
    path("", views.market, name="market"),
    path(
        "signin/",
        throttle_status(
            auth_views.LoginView.as_view(
                template_name="frontend/signin.html",
                authentication_form=ThrottledAuthenticationForm,
                next_page="/orders/",
                redirect_authenticated_user=True,
            )
        ),
        name="signin",
    ),
    path("signout/", auth_views.LogoutView.as_view(next_page="/signin/"), name="signout"),
    path("register/", throttle_status(views.register), name="register"),
    path("orders/", views.my_orders, name="orders"),
    path("orders/<int:order_id>/", views.order_page, name="order"),
    path("disputes/<int:dispute_id>/", views.dispute_page, name="dispute"),
    path("desk/", views.desk, name="desk"),
    path("settings/notifications", views.notification_settings, name="notification-settings"),
]
