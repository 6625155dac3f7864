"""Benchmarks of extractly (run them as scripts or with ``python -m benchmarks.<name>``)."""
