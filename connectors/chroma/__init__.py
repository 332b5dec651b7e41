"""Chroma source: a PersistentClient folder or a Chroma server -> vts tables. See README "Chroma source"."""
