# Sourced by the demo and test scripts: installs the Debian packages dlsc needs when
# they are missing (as root, or through sudo).
dlsc_install_deps() {
  local missing=() package
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root to install ${missing[*]}" >&2; return 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

DLSC_BUILD_PACKAGES=(gcc g++ meson ninja-build pkg-config libkissfft-dev libopenblas-dev check
                     libsndfile1-dev libpng-dev xz-utils)
