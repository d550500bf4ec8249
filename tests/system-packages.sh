#!/usr/bin/env bash
# What the test suite needs from the operating system, before any test runs (called by `make test`):
#   - Chromium, for the browser tests (Debian's `chromium`; or any Chromium at $R4U_CHROMIUM);
#   - curl, for the client tests.
# On Debian or Ubuntu it installs what is missing when it may (root, or passwordless sudo). Otherwise it
# stops with one line naming the exact command to run, so no test starts on a machine that cannot pass.
set -euo pipefail

missing=()   # apt packages to install
problems=()  # what cannot be fixed by installing

if [ -n "${R4U_CHROMIUM:-}" ]; then
  # The user chose a browser: never install another one behind their back.
  [ -x "$R4U_CHROMIUM" ] || problems+=("R4U_CHROMIUM=$R4U_CHROMIUM is not an executable; point it at a Chromium binary, or unset it and run: sudo apt-get install -y chromium")
elif ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#problems[@]} -gt 0 ]; then
  for line in "${problems[@]}"; do echo "make test: $line" >&2; done
  exit 2
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "make test: needs ${missing[*]} (not found); install it with your package manager, or set R4U_CHROMIUM to a Chromium binary" >&2
  exit 2
fi

# Ubuntu names Debian's `chromium` package `chromium-browser` (a snap underneath).
if grep -qs '^ID=ubuntu' /etc/os-release; then
  missing=("${missing[@]/#chromium/chromium-browser}")
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "make test: needs ${missing[*]}; run: sudo apt-get install -y ${missing[*]}   (then make test again)" >&2
    exit 2
  fi
fi

echo "make test: installing ${missing[*]} (apt-get) …"
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "make test: could not install ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi
