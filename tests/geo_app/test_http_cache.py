"""Compressed responses, and caching only for public data (never for personal data)."""

from __future__ import annotations

import gzip

import brotli


def test_public_layers_are_compressed_and_revalidated_by_etag(client):
    plain = client.get("/api/capas/escuelas.geojson")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.headers["Cache-Control"] == "private, no-cache"
    etag = plain.headers["ETag"]
    packed = client.get("/api/capas/escuelas.geojson", headers={"Accept-Encoding": "br, gzip"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data
    assert len(packed.data) * 5 < len(plain.data)  # GeoJSON of 280 schools compresses well
    again = client.get("/api/capas/escuelas.geojson", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # a browser keeps the compressed copy's tag (Flask-Compress appends the algorithm)
    assert packed.headers["ETag"] == etag[:-1] + ':br"'
    headers = {"Accept-Encoding": "br, gzip", "If-None-Match": packed.headers["ETag"]}
    revisit = client.get("/api/capas/escuelas.geojson", headers=headers)
    assert revisit.status_code == 304 and revisit.data == b""
    other = client.get("/api/capas/escuelas.geojson", headers={"If-None-Match": '"otra"'})
    assert other.status_code == 200


def test_personal_data_is_compressed_but_never_stored(client):
    response = client.get("/api/casos.geojson", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    if len(response.data) > 500:  # an empty layer is left as it is
        assert response.headers["Content-Encoding"] == "gzip"
        gzip.decompress(response.data)
    page = client.get("/casos", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Content-Encoding"] == "gzip"


def test_static_files_stay_cacheable(client):
    response = client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()
