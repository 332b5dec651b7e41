"""Pinecone source: every namespace of a serverless or pod index -> one vts table. See README "Pinecone source"."""
