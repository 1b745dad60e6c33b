from django.apps import AppConfig


class EchoSiteConfig(AppConfig):
    """The project core as an app, so that its system checks run with every `manage.py check`."""

    name = "echo_site"
    label = "echo_site"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checks
