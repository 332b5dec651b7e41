"""Elasticsearch and OpenSearch source: mappings -> vts tables, sliced point-in-time reads. See README."""
