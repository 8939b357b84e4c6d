"""gunicorn settings for benchmarks: none beyond the command line (not the production file)."""
