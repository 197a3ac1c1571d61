#!/usr/bin/env bash
# Installs graphene's build dependencies (Debian 12 packages) when missing and
# builds graphene into build/. Safe to run again: it only does what is left.
# With --tests it also installs what only the tests need: chromium, in which
# the end-to-end tests load the HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."

tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    *) echo "usage: bash scripts/setup.sh [--tests]" >&2; exit 2 ;;
  esac
done

packages=(
  g++ cmake make pkg-config
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libboost-dev
  pybind11-dev python3 python3-dev libsqlite3-dev sqlite3 libsodium-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev
)
test_packages=(chromium)
if ((tests)); then packages+=("${test_packages[@]}"); fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j "$(nproc)"
