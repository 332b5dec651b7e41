"""Built-in transforms, SeaTunnel's names: Sql, FieldMapper, FieldRename, Filter, Copy, Replace, JsonPath,
NormalizeVector, Embedding.

Each transform has a schema step (:meth:`vts.connector.Transform.schema`) run
during discovery, so ``vts check`` shows and the sink creates what the rows will
be, and an Arrow step run on workers. Rows a transform cannot handle go to
the dead letters with their reason (:mod:`vts.connectors.transforms.rows`).
"""
