# pypiserver's start (stacks/src/pypiserver/start.sh): `sh -c <this> pypiserver [--disable-fallback]`.
# Reads the environment only: the task's, plus PYPI_USERNAME and PYPI_PASSWORD.
set -eu
umask 077
python -c 'import base64, hashlib, os; print(os.environ["PYPI_USERNAME"] + ":{SHA}" + base64.b64encode(hashlib.sha1(os.environ["PYPI_PASSWORD"].encode()).digest()).decode())' > "${HTPASSWD_FILE}"
unset PYPI_PASSWORD
exec pypi-server run -p "${PYPISERVER_PORT}" --server gunicorn --backend simple-dir --authenticate download,list,update -P "${HTPASSWD_FILE}" "$@" --host "${PYPISERVER_HOST}" "${PACKAGES_DIR}"
