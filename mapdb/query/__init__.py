"""The query engine: SQL (via sqlglot) or API expressions -> logical plan -> optimizer ->
morsel-parallel executor over the mapped columns. Read docs/query.md."""
