"""The evidence store: months of evidence at rest in one SQLite file (`regaudit ingest`, `--store`).

`schema` opens and migrates the file; `aggregate` is the per-input value parsers' records fold into (a
mergeable value: the fleet engine of issue 15 merges them); `writer` writes one input in one transaction;
`reader` reads windows back as DataFrames and as evidence records. It imports only `auditor/core/`.
"""
