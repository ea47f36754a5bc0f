#!/usr/bin/env bash
# Fetch the Apache Kafka broker jars (KRaft) that the stream integration tests start, once, into a cache
# that later runs reuse. Prints the folder. Uses Maven Central through `mvn` (tests/kafka/pom.xml).
#   KAFKA_JARS_DIR overrides the folder; the default is ~/.cache/codex-jupyter/kafka-<version>.
set -euo pipefail

KAFKA_VERSION=4.1.1  # keep in step with kafka.version in tests/kafka/pom.xml
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${KAFKA_JARS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/codex-jupyter/kafka-$KAFKA_VERSION}"

if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
command -v mvn >/dev/null || { echo "mvn not found: install Maven (apt-get install maven) to fetch the Kafka jars" >&2; exit 1; }

mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$dest.partial.XXXXXX")"  # filled first, renamed when complete: an interrupted run leaves no half cache
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -Dstyle.color=never -f "$root/tests/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DoutputDirectory="$tmp" >&2
ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null
touch "$tmp/.complete"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
