#!/usr/bin/env bash
# Serve the app and run the Huey job consumer beside it; Ctrl-C stops both.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-5000}
cd "$(dirname "$0")/.."
.venv/bin/huey_consumer market.worker.huey --workers 2 --worker-type thread \
  --delay 0.1 --max-delay 1 --backoff 1.15 &
consumer=$!
trap 'kill $consumer 2>/dev/null || true; wait $consumer 2>/dev/null || true' EXIT INT TERM
echo "Job consumer running (pid $consumer). Serving on http://$host:$port"
.venv/bin/flask --app wsgi run --host "$host" --port "$port" --no-reload
