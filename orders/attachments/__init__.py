"""Uploaded files: storage, type sniffing, previews, signed downloads, the orphan purge.

Files go through Django's storage API (the `attachments` storage alias: the file system under
MEDIA_ROOT, or S3 from the environment); rows are `orders.models.Attachment`.
"""
