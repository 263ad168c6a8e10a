# Installs Debian packages the scripts need when their commands are missing. Sourced.
#   apt_ensure <label> <command>:<package> [<command>:<package>…]
# Installs the packages whose command is not on PATH (as root, else with sudo); `apt-get update`
# only when the first attempt fails (a fresh machine's package lists are empty or stale).
apt_ensure() {
  local label="$1" pair missing=()
  shift
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "$label: installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 || {
    "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; }
}
