"""The Milvus sink's BulkWriter: Parquet staged in S3 / Azure / a local folder, then Milvus's Import API.

Switched on by a non-empty ``bulk_writer_config`` (:class:`.config.BulkWriterConfig`).
The sink keeps its layout and catalog (schema and save modes); this package
supplies the rest of the contract:

- :func:`.preflight.preflight` (driver, before any save mode acts): Milvus
  Lite has no Import API; the staging area must take a probe file;
- :class:`.writer.StagingWriter` (workers, one per split), whose ``finish``
  returns the list of files it made durable (the commit info);
- :func:`.commit.import_staged` (driver, once, the sink's ``commit``): imports exactly the files in the
  commit infos, waits, and returns the rows the server reports imported.
  Only these count as written (``vts run``'s summary); staged rows are
  reported apart.

Layout and file naming: :mod:`.writer`; Parquet layout: :mod:`.parquet`;
staging areas: :mod:`.storage`; importers: :mod:`.importer` (the contract
and polling), :mod:`.grpc_import`, :mod:`.rest_import`; the MILVUS-26/27/28
verdict: :mod:`.verdict`.
"""
