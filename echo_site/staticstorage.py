"""Static files with content-hashed names in every mode (WhiteNoise's compressed manifest storage).

`collectstatic` writes each file under a name carrying its content's hash, compressed copies, and
the manifest `{% static %}` reads; WhiteNoise serves the hashed names as immutable (cached for a
year). The JavaScript modules import each other by relative path ("./dom.js"): those imports are
rewritten to the hashed names too, so a page's whole module graph is cacheable and changes
together. No build step: `collectstatic` only copies, hashes and compresses.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

    def url(self, name: str | None, force: bool = False) -> str:
        # Django's manifest storage keeps plain names while DEBUG is on; ECHO hashes in every
        # mode, so development serves (and caches) exactly what production does.
        return super().url(name, force=True)
