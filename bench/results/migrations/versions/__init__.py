"""The revisions, oldest first: 0001 is the schema bench 0.1 created (bench_meta schema_version 1)."""
