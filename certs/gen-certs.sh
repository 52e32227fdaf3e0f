#!/usr/bin/env bash
# Generates a CA and a serving certificate for the webhook with openssl, for manual installs and
# tests (the chart can also generate them, or use cert-manager: see docs/chart.md).
#
#   certs/gen-certs.sh [SERVICE [NAMESPACE [OUT_DIR [IP...]]]]
#     SERVICE    Service name (default sigv4-injector)
#     NAMESPACE  its namespace (default sigv4-injector)
#     OUT_DIR    where to write (default certs/out, git-ignored)
#     IP...      extra IP SANs, e.g. 127.0.0.1 for a webhook on loopback
#
# Writes ca.crt, ca.key, tls.crt, tls.key (PEM; keys mode 0600) and ca.bundle.b64 (the base64
# caBundle for a webhook configuration). SANs: SERVICE, SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc,
# SERVICE.NAMESPACE.svc.cluster.local, localhost and each IP. Overwrites existing files.
# Environment: DAYS (validity, default 365).
set -euo pipefail

service=${1:-sigv4-injector}
namespace=${2:-sigv4-injector}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${3:-$here/out}
shift $(($# < 3 ? $# : 3))
days=${DAYS:-365}

valid_name='^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
[[ $service =~ $valid_name ]] || { echo "gen-certs: bad service name: $service" >&2; exit 2; }
[[ $namespace =~ $valid_name ]] || { echo "gen-certs: bad namespace: $namespace" >&2; exit 2; }
command -v openssl >/dev/null || { echo "gen-certs: openssl is required" >&2; exit 1; }

san="DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc"
san+=",DNS:$service.$namespace.svc.cluster.local,DNS:localhost"
for ip in "$@"; do
  [[ $ip =~ ^[0-9a-fA-F.:]+$ ]] || { echo "gen-certs: bad IP address: $ip" >&2; exit 2; }
  san+=",IP:$ip"
done

mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cn="$service.$namespace.svc"
sed -e "s|@SAN@|$san|" -e "s|@CN@|$cn|" "$here/openssl.cnf.in" >"$tmp/openssl.cnf"

# The CA: EC P-256, small and fast, accepted by the apiserver's Go TLS.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -days "$days" -subj "/CN=sigv4-injector-ca" \
  -config "$tmp/openssl.cnf" -extensions ca -out "$tmp/ca.crt" 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/tls.key"
openssl req -new -key "$tmp/tls.key" -config "$tmp/openssl.cnf" -out "$tmp/tls.csr"
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
  -days "$days" -extfile "$tmp/openssl.cnf" -extensions serving -out "$tmp/tls.crt" 2>/dev/null
openssl verify -CAfile "$tmp/ca.crt" "$tmp/tls.crt" >/dev/null

for f in ca.key tls.key; do install -m 0600 "$tmp/$f" "$out/$f"; done
for f in ca.crt tls.crt; do install -m 0644 "$tmp/$f" "$out/$f"; done
base64 -w0 "$out/ca.crt" >"$out/ca.bundle.b64"
chmod 0644 "$out/ca.bundle.b64"
echo "gen-certs: wrote $out/{ca.crt,ca.key,tls.crt,tls.key,ca.bundle.b64} for $san" >&2
