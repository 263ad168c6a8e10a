#!/usr/bin/env bash
# `npm run build`: compiles the runtime sources (api, events, functions, connectors, cli) to
# JavaScript in dist/ (tsconfig.build.json; `.ts` import specifiers are rewritten to `.js`) and
# copies beside them the files they read at run time through import.meta.url: the Knative
# manifests, the event schemas and the OpenAPI document. `node dist/cli/serve.js` then runs
# Mooring without tsx (the image's entry point).
#   scripts/build.sh [outdir]   (default dist; a test builds into a directory of its own)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:-dist}"
rm -rf "${OUT:?}"
npx tsc -p tsconfig.build.json --outDir "$OUT"
mkdir -p "$OUT/events" "$OUT/docs"
cp -r knative "$OUT/knative"
cp -r events/schemas "$OUT/events/schemas"
cp docs/openapi.yaml "$OUT/docs/openapi.yaml"
