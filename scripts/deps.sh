# Sourced by the demo and test scripts: installs the Debian packages dlsc needs when
# they are missing (as root, or through sudo).

# Whether PACKAGE[:ARCH] is installed for ARCH (default the machine's own) or as an
# architecture-independent package. (dpkg -s refuses a name installed for several
# architectures, as after scripts/test-cross.sh, and then every package seemed missing.)
dlsc_installed() {
  local name=${1%%:*} arch=${1#*:}
  [ "$arch" = "$1" ] && arch=$(dpkg --print-architecture)
  dpkg-query -W -f='${db:Status-Abbrev} ${Architecture}\n' "$name" 2>/dev/null |
    awk -v arch="$arch" '$1 == "ii" && ($2 == arch || $2 == "all") { found = 1 }
                         END { exit !found }'
}

dlsc_install_deps() {
  local missing=() package
  for package in "$@"; do
    dlsc_installed "$package" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root to install ${missing[*]}" >&2; return 1; }
    sudo=sudo
  fi
  # A mirror caught mid-sync fails the update for one index (seen: bookworm-security's
  # i386 list) while the rest is fresh: go on to the install, which fails by itself,
  # naming the package, if the lists it needs are missing.
  $sudo apt-get update -qq ||
    echo "apt-get update reported errors (above); installing with the lists it got" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# A locale whose decimal point is a comma (de_DE), for the test that specs stay C text
# under any locale the host sets: compiled from Debian's locales (installed when missing
# and possible) into DIR/de_DE.UTF-8, not installed (the system's locales stay as they
# are); further arguments go to localedef (--big-endian for an s390x test run). True
# when DIR holds it, for DLSC_TEST_LOCPATH=DIR: the test must then find it.
dlsc_comma_locale() {
  local dir=$1
  shift
  if [ ! -d "$dir/de_DE.UTF-8" ] && dlsc_install_deps locales; then
    mkdir -p "$dir.tmp"
    # (exit status 1: warnings only, the locale written; -c writes it despite them)
    localedef "$@" -c -i de_DE -f UTF-8 "$dir.tmp/de_DE.UTF-8" ||
      [ -f "$dir.tmp/de_DE.UTF-8/LC_NUMERIC" ]
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  [ -d "$dir/de_DE.UTF-8" ]
}

DLSC_BUILD_PACKAGES=(gcc g++ meson ninja-build pkg-config libkissfft-dev libopenblas-dev check
                     libsndfile1-dev libpng-dev xz-utils)
