#!/usr/bin/env bash
# The Debian packages the test suite needs beside Python: git (remote sources are fetched with
# it, and the tests serve repositories through it) and chromium (the admin's browser test).
# Installed with apt-get when missing and running as root; otherwise says what to install.
set -euo pipefail

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
    command -v git >/dev/null 2>&1 || exit 1  # git is required; chromium only skips one test
    exit 0
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
