"""LanceDB source: a LanceDB database (local folder or s3://) or one Lance dataset -> vts tables. See README."""
