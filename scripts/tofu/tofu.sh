#!/usr/bin/env bash
# OpenTofu and the providers the Terraform modules of infra/terraform can use on this machine, built
# once from the Go module proxy into a cache outside the clone (no provider registry is reachable):
#   bin/tofu             OpenTofu, through a wrapper module (its go.mod has a `replace`, so
#                        `go install …@version` is refused)
#   providers/           gavinbunney/kubectl (`go install`) and Mongey/kafka (a wrapper module too)
#   mirror/registry.opentofu.org/<namespace>/<type>/<version>/linux_amd64/
#                        the filesystem mirror `tofu init` installs the providers from
#   tofurc               the CLI configuration naming that mirror (TF_CLI_CONFIG_FILE)
#
#   tofu.sh provision    build what is missing (once: 15 to 40 minutes on a busy 2-core machine,
#                        by its load; idempotent: a second run only checks)
#   tofu.sh run <args…>  tofu <args…> with the mirror's CLI configuration
#   tofu.sh path         prints the path of the tofu binary
#   tofu.sh config       prints the path of the CLI configuration
#
# Environment: MOORING_TOFU_CACHE (default ~/.cache/mooring/tofu), TOFU_VERSION (v1.10.10),
# KUBECTL_PROVIDER_VERSION (1.19.0), KAFKA_PROVIDER_VERSION (0.13.1).
set -euo pipefail

CACHE="${MOORING_TOFU_CACHE:-$HOME/.cache/mooring/tofu}"
VERSION="${TOFU_VERSION:-v1.10.10}"
KUBECTL_VERSION="${KUBECTL_PROVIDER_VERSION:-1.19.0}"
KAFKA_VERSION="${KAFKA_PROVIDER_VERSION:-0.13.1}"
TOFU="$CACHE/bin/tofu"
MIRROR="$CACHE/mirror"
CONFIG="$CACHE/tofurc"

die() { echo "tofu: $*" >&2; exit 1; }
need_go() { command -v go >/dev/null || die "go is not installed (needed once, to build $1)"; }

# wrapper <dir> <module> <version> <wrapper name>: a module in <dir> that requires <module>@<version>
# and takes over the go directive, the godebug setting and the replace directives of its go.mod
# (a dependency's replace directives do not apply, and `go install` refuses a module that has any).
wrapper() {
  local dir="$1" module="$2" version="$3" name="$4" upstream
  mkdir -p "$dir"
  upstream="$(go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$upstream" ] || die "the module proxy did not serve $module@$version"
  { printf 'module %s\n\n' "$name"
    grep -E '^(go|godebug) ' "$upstream"
    printf '\nrequire %s %s\n\n' "$module" "$version"
    grep -E '^replace ' "$upstream" || true; } >"$dir/go.mod"
}

# go_build <dir> <package> <output> [ldflags]: tidy the wrapper in <dir>, then build <package>.
go_build() {
  local dir="$1" package="$2" out="$3" ldflags="${4:-}"
  printf '//go:build tools\n\npackage %s\n\nimport _ "%s"\n' "$(sed -n 's/^module //p' "$dir/go.mod")" "$package" >"$dir/tools.go"
  (
    cd "$dir"
    export GOMAXPROCS=2
    nice -n 19 go mod tidy >&2
    nice -n 19 go build -ldflags "-s -w $ldflags" -o "$out.tmp" "$package" >&2
  )
  mv -f "$out.tmp" "$out"
}

build_tofu() {
  [ -x "$TOFU" ] && return 0
  need_go OpenTofu
  echo "tofu: building OpenTofu $VERSION into $CACHE (once; 5 to 25 minutes)" >&2
  mkdir -p "$CACHE/bin"
  wrapper "$CACHE/src/tofu" github.com/opentofu/opentofu "$VERSION" tofuwrap
  go_build "$CACHE/src/tofu" github.com/opentofu/opentofu/cmd/tofu "$TOFU" "-X github.com/opentofu/opentofu/version.dev=no"
}

# mirror <namespace/type> <version> <binary>: the provider's place in the filesystem mirror.
mirror() {
  local address="$1" version="$2" binary="$3" dest
  dest="$MIRROR/registry.opentofu.org/$address/$version/linux_amd64/terraform-provider-${address#*/}_v$version"
  mkdir -p "$(dirname "$dest")"
  cmp -s "$binary" "$dest" || cp -f "$binary" "$dest"
}

build_kubectl_provider() {
  local binary="$CACHE/providers/terraform-provider-kubectl_v$KUBECTL_VERSION"
  if [ ! -x "$binary" ]; then
    need_go "the kubectl provider"
    echo "tofu: building the gavinbunney/kubectl provider $KUBECTL_VERSION (once; 3 to 10 minutes)" >&2
    mkdir -p "$CACHE/providers/gobin"
    GOBIN="$CACHE/providers/gobin" GOMAXPROCS=2 nice -n 19 \
      go install -ldflags "-s -w" "github.com/gavinbunney/terraform-provider-kubectl@v$KUBECTL_VERSION" >&2
    mv -f "$CACHE/providers/gobin/terraform-provider-kubectl" "$binary"
  fi
  mirror gavinbunney/kubectl "$KUBECTL_VERSION" "$binary"
}

# Mongey/kafka: topics through the Kafka protocol (any Kafka: MSK, Strimzi, the tests' broker).
build_kafka_provider() {
  local binary="$CACHE/providers/terraform-provider-kafka_v$KAFKA_VERSION"
  if [ ! -x "$binary" ]; then
    need_go "the kafka provider"
    echo "tofu: building the Mongey/kafka provider $KAFKA_VERSION (once; 3 to 10 minutes)" >&2
    wrapper "$CACHE/src/kafka" github.com/Mongey/terraform-provider-kafka "v$KAFKA_VERSION" kafkawrap
    go_build "$CACHE/src/kafka" github.com/Mongey/terraform-provider-kafka "$binary"
  fi
  mirror mongey/kafka "$KAFKA_VERSION" "$binary"
}

write_config() {
  local want
  want="$(cat <<TOFURC
# Written by scripts/tofu/tofu.sh: providers come from the filesystem mirror only.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.opentofu.org/*/*"]
  }
  direct {
    exclude = ["registry.opentofu.org/*/*"]
  }
}
TOFURC
)"
  [ "$(cat "$CONFIG" 2>/dev/null)" = "$want" ] || printf '%s\n' "$want" >"$CONFIG"
}

provision() {
  mkdir -p "$CACHE"
  # One build at a time: two test runs provisioning at once wait for each other.
  exec 9>"$CACHE/.lock"
  flock 9
  build_tofu
  build_kubectl_provider
  build_kafka_provider
  write_config
}

cmd="${1:-}"; shift || true
case "$cmd" in
  provision) provision ;;
  run)
    [ -x "$TOFU" ] && [ -f "$CONFIG" ] || die "OpenTofu is not provisioned (tofu.sh provision)"
    TF_CLI_CONFIG_FILE="$CONFIG" TF_IN_AUTOMATION=1 exec "$TOFU" "$@" ;;
  path) echo "$TOFU" ;;
  config) echo "$CONFIG" ;;
  *) echo "usage: $0 provision|run <args…>|path|config" >&2; exit 2 ;;
esac
