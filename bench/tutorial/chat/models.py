from __future__ import annotations

from django.db import models


class Message(models.Model):
    room = models.IntegerField()
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.room}: {self.content[:40]}"
