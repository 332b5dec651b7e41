"""Qdrant source: server (REST/gRPC) or local-mode folder -> vts tables. See README.md, "Qdrant source"."""
