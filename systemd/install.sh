#!/usr/bin/env bash
# Install Pierre as a systemd service: code in /opt/pierre, config in /etc/pierre.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root"; exit 1; }
src="$(cd "$(dirname "$0")/.." && pwd)"
install -d -m 0755 /opt/pierre /etc/pierre /etc/pierre/credentials
chmod 0700 /etc/pierre/credentials
python3.11 -m venv /opt/pierre/.venv
/opt/pierre/.venv/bin/pip install -q "$src" "$src"/plugins/*/
[ -e /etc/pierre/pierre.toml ] || install -m 0644 "$src/config/pierre.production.toml" /etc/pierre/pierre.toml
if [ ! -e /etc/pierre/credentials/master.key ]; then
  umask 077; head -c 32 /dev/urandom | base64 > /etc/pierre/credentials/master.key
  echo "generated /etc/pierre/credentials/master.key — back it up: without it the data is unreadable"
fi
install -m 0644 "$src"/systemd/pierre.service "$src"/systemd/pierre-mcp.socket \
  "$src"/systemd/pierre-http.socket /etc/systemd/system/
systemctl daemon-reload
echo "edit /etc/pierre/pierre.toml and the credentials, then: systemctl enable --now pierre"
