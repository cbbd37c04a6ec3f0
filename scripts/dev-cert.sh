#!/usr/bin/env bash
# A self-signed development certificate for https://localhost, https://127.0.0.1 and
# https://[::1], made once with the openssl CLI: EC P-256, subjectAltName entries, valid 825 days
# (the longest validity Apple platforms accept for a TLS server certificate).
#
#   scripts/dev-cert.sh [DIR]      (default DIR: build/dev-cert)
#
# Writes DIR/cert.pem and DIR/key.pem (mode 600) unless both exist already: an existing
# certificate is never overwritten (delete DIR to make a new one). Prints the two paths.
# For development only: browsers warn about it until you trust DIR/cert.pem yourself.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$ROOT/build/dev-cert}
CERT=$DIR/cert.pem
KEY=$DIR/key.pem

if [[ -e $CERT || -e $KEY ]]; then
  if [[ -s $CERT && -s $KEY ]]; then
    echo "$CERT"
    echo "$KEY"
    exit 0
  fi
  echo "dev-cert: $DIR holds only one of cert.pem and key.pem; remove it to make a new pair" >&2
  exit 1
fi

command -v openssl >/dev/null || { echo "dev-cert: openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$DIR"
# Made in a temporary directory and moved into place at the end, so that an interrupted run
# never leaves a half-written pair behind.
TMP=$(mktemp -d "$DIR/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 825 \
  -subj "/CN=localhost/O=Portico development certificate" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 644 "$TMP/cert.pem"
mv "$TMP/key.pem" "$KEY"
mv "$TMP/cert.pem" "$CERT"
echo "dev-cert: made a self-signed certificate for localhost, 127.0.0.1 and ::1 (825 days)" >&2
echo "$CERT"
echo "$KEY"
