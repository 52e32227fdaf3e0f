#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing (idempotent).
set -euo pipefail

packages=(
  cmake g++ make git
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev catch2 libssl-dev
  clang-format openssl
  iptables python3
  # the data-plane tier (tests/dataplane): ip and ss, unshare/nsenter/setpriv, curl as the app
  iproute2 util-linux curl
)
# Callers (test tiers) may ask for more: scripts/deps.sh etcd-server nginx ...
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
