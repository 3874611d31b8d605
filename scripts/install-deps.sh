#!/usr/bin/env bash
# Installs what xanesmap needs to build and test, from Debian packages (bookworm or later).
# Run as root, or as a user with sudo.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libtbb-dev libhdf5-dev libtiff-dev libfftw3-dev libssl-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  catch2
  clang libclang-rt-dev clang-format git
)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update" >&2
$sudo apt-get update -qq
echo "install-deps: installing ${packages[*]}" >&2
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
