"""The Console sink: rows printed, for debugging a job (SeaTunnel's Console)."""
