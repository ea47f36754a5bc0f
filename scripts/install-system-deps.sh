#!/usr/bin/env bash
# System packages the test suite needs, from Debian's archive (idempotent).
#   chromium: the real browser the Voila/JupyterLab tests drive through Playwright.
#   mosquitto: the MQTT broker the stream tests start on 127.0.0.1.
#   npm: builds the widgets' JavaScript bundle (js/, `make widgets-js`) from the npm registry.
#   maven + a JDK 17: fetch and run the Apache Kafka broker jars (scripts/kafka-jars.sh).
set -euo pipefail

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ -x /usr/sbin/mosquitto ] || packages+=(mosquitto)
command -v npm >/dev/null || packages+=(npm)
command -v mvn >/dev/null || packages+=(maven)
command -v java >/dev/null || packages+=(openjdk-17-jre-headless)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install ${packages[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing from Debian: ${packages[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
