# Run under `unshare -rm` (a user and mount namespace): mounts a tmpfs of
# $PAGES_MIB MiB at $PAGES_DIR, the task's pages volume as the synthesized
# template declares it, starts the task's page indexer writing into it (in
# the background, its stderr to $INDEXER_LOG), then execs "$@" (the proxy's
# container.py command line): both see the mount, as two containers of a
# task see their shared volume.
set -eu
mount -t tmpfs -o "size=${PAGES_MIB}m" tmpfs "$PAGES_DIR"
"$PERF_PYTHON" "$(dirname "$0")/container.py" "$TEMPLATE" indexer PACKAGES_DIR="$PACKAGES_DIR" PAGES_DIR="$PAGES_DIR" 2>"$INDEXER_LOG" &
exec "$@"
