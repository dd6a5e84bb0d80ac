# The proxy's start (stacks/src/proxy/start.sh):
# `sh -c <this> proxy <nginx.conf> <role>=<VAR>...`, each VAR holding a role's
# secret as JSON: username, password, and pending_password during a rotation.
# Reads the environment only: the task's, plus those secrets.
set -eu
umask 077
conf="$1"
shift
mkdir -p "$RUN_DIR/cache" "$RUN_DIR/temp"
# nginx unlinks a body buffer as it opens it, so a buffer outlives its
# request only as an NFS client's ".nfs*" file of an instance that died;
# one untouched for an hour has no writer left (an upload times out long
# before): removed here, by the next proxy to start.
find "$UPLOAD_BUFFER_DIR" -xdev -type f -mmin +60 -delete 2>/dev/null || true
# The credentials map: one entry per accepted (username, password), the
# whole Authorization header as a case-sensitive anchored regex (nginx
# lowercases plain string keys; base64 is case-sensitive, and `+` its one
# regex metacharacter), the role as its value. The secrets only go through
# printf (a builtin) into pipes, never into a process's arguments; passwords
# have no `"` or `\`, so sed reads the JSON.
map="$RUN_DIR/credentials.map"
: > "$map"
field() { printf '%s\n' "$secret" | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"; }
for arg in "$@"; do
  role="${arg%%=*}" var="${arg#*=}"
  case "$role" in read | publish) ;; *) echo "$0: $arg: not a role (read, publish)" >&2; exit 1 ;; esac
  secret="$(printenv "$var")" || { echo "$0: $var is not set" >&2; exit 1; }
  user="$(field username)" password="$(field password)" pending="$(field pending_password)"
  [ -n "$user" ] && [ -n "$password" ] || { echo "$0: $var has no username or password" >&2; exit 1; }
  case "$user$password$pending" in *\\*) echo "$0: $var has an escaped character" >&2; exit 1 ;; esac
  for accepted in "$password" "$pending"; do
    [ -n "$accepted" ] || continue
    token="$(printf '%s:%s' "$user" "$accepted" | base64 | tr -d '\n' | sed 's/+/\\+/g')"
    printf '"~^Basic\\ %s$" %s;\n' "$token" "$role" >> "$map"
  done
  unset "$var"
done
unset secret password pending accepted token
# nginx.conf, each placeholder (an upper-case name in braces after a dollar
# sign) replaced by that environment variable (unset: an error); nginx's own
# $variables are left alone.
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
