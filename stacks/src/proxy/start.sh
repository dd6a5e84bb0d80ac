# The proxy's start (stacks/src/proxy/start.sh): `sh -c <this> proxy <nginx.conf>`.
# Reads the environment only: the task's, plus PYPI_USERNAME and PYPI_PASSWORD.
set -eu
umask 077
mkdir -p "$RUN_DIR/cache" "$RUN_DIR/temp"
# The htpasswd: {SSHA}, base64(SHA1(PYPI_PASSWORD + salt) + salt), salted
# afresh; the secret only goes through printf (a builtin) into a pipe.
salt="$(head -c 12 /dev/urandom | base64 | cut -c1-16)"
digest="$(printf '%s%s' "$PYPI_PASSWORD" "$salt" | sha1sum | cut -c1-40)"
ssha="$({ while [ -n "$digest" ]; do rest="${digest#??}"; printf "\\$(printf %03o "0x${digest%"$rest"}")"; digest="$rest"; done; printf '%s' "$salt"; } | base64 | tr -d '\n')"
printf '%s:{SSHA}%s\n' "$PYPI_USERNAME" "$ssha" > "$RUN_DIR/htpasswd"
unset PYPI_PASSWORD digest ssha
# nginx.conf ($1), each placeholder (an upper-case name in braces after a
# dollar sign) replaced by that environment variable (unset: an error);
# nginx's own $variables are left alone.
conf="$1"
for name in $(printf '%s\n' "$conf" | grep -o '[$]{[A-Z_][A-Z0-9_]*}' | tr -d '${}'); do
  value="$(printenv "$name")" || { echo "$0: $name is not set" >&2; exit 1; }
  value="$(printf '%s\n' "$value" | sed 's/[\\&|]/\\&/g')"
  conf="$(printf '%s\n' "$conf" | sed "s|[$]{$name}|$value|g")"
done
printf '%s\n' "$conf" > "$RUN_DIR/nginx.conf"
# The task runs nginx as the package files' owner (never root); started as
# root elsewhere, the workers keep that user rather than nginx's "nobody".
workers_user=""
[ "$(id -u)" -ne 0 ] || workers_user="user root root; "
exec nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e stderr -g "${workers_user}daemon off;"
