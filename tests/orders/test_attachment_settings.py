"""Attachment storage comes from the environment only: the file system by default, S3 with
ATTACHMENTS_S3_BUCKET (and then previews may load from the store under the page's CSP)."""

from __future__ import annotations

import json

from .test_settings import manage

SHOW = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'storage': settings.STORAGES['attachments'], 'max': settings.MAX_UPLOAD_MB, "
    "'img': settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']}))"
)


def settings_with(env: dict[str, str]) -> dict:
    result = manage("shell", "-c", SHOW, env={"DEBUG": "1", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_default_is_the_file_system_under_media_root(tmp_path):
    shown = settings_with({"MEDIA_ROOT": str(tmp_path)})
    assert shown["storage"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert shown["storage"]["OPTIONS"]["location"] == str(tmp_path / "attachments")
    assert shown["max"] == 50
    assert shown["img"] == ["'self'"]


def test_s3_from_the_environment():
    shown = settings_with(
        {
            "ATTACHMENTS_S3_BUCKET": "echo-files",
            "ATTACHMENTS_S3_ENDPOINT_URL": "https://s3.example.com",
            "ATTACHMENTS_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "ATTACHMENTS_S3_SECRET_ACCESS_KEY": "not-a-real-secret",
            "MAX_UPLOAD_MB": "10",
        }
    )
    assert shown["storage"]["BACKEND"] == "storages.backends.s3.S3Storage"
    options = shown["storage"]["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == (
        "echo-files",
        "https://s3.example.com",
    )
    assert options["querystring_auth"] is True and options["default_acl"] is None
    assert shown["max"] == 10
    assert shown["img"] == ["'self'", "https://s3.example.com"]
