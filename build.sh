#!/usr/bin/env bash
# build.sh: the project's one entry point.
#
#   ./build.sh            the main job: train natural and ART models on the built-in
#                         dataset, evaluate them, build the site into dist/ and serve
#                         it on http://127.0.0.1:8080/ when run from a terminal
#                         (same as ./build.sh demo; ART_NO_SERVE=1: build only)
#   ./build.sh test       every check CI runs: gofmt, go vet, all tests, the WASM build
#   ./build.sh art        build the native command into bin/art
#   ./build.sh ort        fetch ONNX Runtime (npm onnxruntime-node) for bin/art
#   ./build.sh wasm       build the shared packages for GOOS=js GOARCH=wasm
#   ./build.sh bench      run the Go benchmarks
#   ./build.sh perf [FLAGS]  this project and the PyTorch peer (../shared/peer/peer.py) side by
#                         side for WRN-10-1 and WRN-16-4; rewrites the table in docs/performance.md
#                         (FLAGS go to art bench, e.g. -iters 3 -models WRN-10-1); the Go backend
#                         unless ART_ORT_LIB names ONNX Runtime's library
#   ./build.sh site [DIR] build the static site into DIR (default dist/): the in-browser
#                         demonstrator, landing, results, model and docs pages (alias: web)
#   ./build.sh weights    reproduce the shipped checkpoints in weights/ (train, evaluate, ship)
#   ./build.sh weights-train  only the training stage of ./build.sh weights
#
# Go 1.27 is required by GoMLX v0.28.16; GOTOOLCHAIN=auto lets a machine with an
# older go fetch it from the module proxy. Native code is built with
# GOEXPERIMENT=simd (the Go backend's AVX2/AVX-512 kernels); WASM without it.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=auto
export GOFLAGS="${GOFLAGS:-} -mod=mod"
NATIVE_EXP=simd
if [ "$(go env GOARCH)" != "amd64" ]; then NATIVE_EXP=""; fi

native() { GOEXPERIMENT="$NATIVE_EXP" "$@"; }
wasm() { GOOS=js GOARCH=wasm GOEXPERIMENT= "$@"; }

build_art() {
  mkdir -p bin
  native go build -o bin/art ./native/art
}

build_wasm() {
  wasm go build ./shared/...
}

# web_ort copies onnxruntime-web (from the npm registry, cached in
# node_modules/) into the site: the page's fast engine. The site still works
# without it, on the Go backend. ART_NO_ORT=1 leaves it out.
ORT_WEB_VERSION=1.30.0
web_ort() {
  local out="$1" d=node_modules/onnxruntime-web
  [ -z "${ART_NO_ORT:-}" ] || return 1
  if ! grep -qs "\"version\": \"$ORT_WEB_VERSION\"" "$d/package.json"; then
    command -v npm >/dev/null 2>&1 || return 1
    npm install --prefix "$PWD" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      "onnxruntime-web@$ORT_WEB_VERSION" >&2 || return 1
  fi
  mkdir -p "$out/ort"
  cp "$d/dist/ort.wasm.min.js" "$d/dist/ort-wasm-simd-threaded.mjs" "$d/dist/ort-wasm-simd-threaded.wasm" "$out/ort/"
  gzip -9 -n -k "$out/ort/ort-wasm-simd-threaded.wasm"
}

# build_ort fetches the ONNX Runtime shared library that the native art
# command uses when it finds it (faster than the Go backend; see
# native/art/engine.go): the one inside the npm package onnxruntime-node,
# copied with its licence to node_modules/.onnxruntime/ (a dot-folder, which
# npm installs of other packages leave alone). Linux x64/arm64 only.
ORT_NODE_VERSION=1.30.0
build_ort() {
  local dest=node_modules/.onnxruntime tmp arch
  if [ -f "$dest/libonnxruntime.so.1" ] && grep -qs "^$ORT_NODE_VERSION\$" "$dest/VERSION"; then
    echo "$dest/libonnxruntime.so.1 (ONNX Runtime $ORT_NODE_VERSION) is already there"; return 0
  fi
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) arch=x64 ;;
    Linux/aarch64) arch=arm64 ;;
    *) echo "build_ort: no onnxruntime-node library for $(uname -s)/$(uname -m); art uses the Go backend" >&2; return 1 ;;
  esac
  command -v npm >/dev/null 2>&1 || { echo "build_ort: npm not found; art uses the Go backend" >&2; return 1; }
  tmp=$(mktemp -d)
  npm install --prefix "$tmp" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
    "onnxruntime-node@$ORT_NODE_VERSION" >&2 || { rm -rf "$tmp"; return 1; }
  mkdir -p "$dest"
  cp "$tmp/node_modules/onnxruntime-node/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$dest/"
  cp "$tmp/node_modules/onnxruntime-node/LICENSE" "$dest/LICENSE.txt" 2>/dev/null || true
  echo "$ORT_NODE_VERSION" > "$dest/VERSION"
  rm -rf "$tmp"
  echo "ONNX Runtime $ORT_NODE_VERSION: $dest/libonnxruntime.so.1"
}

# web_vugugen regenerates wasm/app/root_gen.go from root.vugu, in a scratch
# folder, replacing the file only when it changes (a build running beside
# this one never sees it half written).
web_vugugen() {
  local tmp
  tmp=$(mktemp -d)
  cp wasm/app/*.vugu wasm/app/root.go "$tmp/"
  go tool vugugen -skip-go-mod -skip-main "$tmp"
  gofmt -w "$tmp/root_gen.go"
  cmp -s "$tmp/root_gen.go" wasm/app/root_gen.go || cp "$tmp/root_gen.go" wasm/app/root_gen.go
  rm -rf "$tmp"
}

# build_demo builds the in-browser demonstrator into a fresh folder: the Vugu
# interface (app.wasm) and the GoMLX engine for its Web Worker (engine.wasm),
# each also gzipped (the page decompresses .wasm.gz itself, so any static host
# serves the small file), Go's wasm_exec.js, the page files from web/, and the
# checkpoints in weights/ with their index.
build_demo() {
  local out="${1:-dist}"
  rm -rf "$out"
  mkdir -p "$out/weights"
  web_vugugen
  wasm go build -trimpath -ldflags="-s -w" -o "$out/app.wasm" ./wasm/app
  wasm go build -trimpath -ldflags="-s -w" -o "$out/engine.wasm" ./wasm/worker
  cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$out/"
  cp web/demo.html web/loader.js web/worker.js web/style.css "$out/"
  go run ./wasm/cmd/vugurender > "$out/vugu-render.js"
  web_ort "$out" || echo "note: no onnxruntime-web (npm unavailable?): the page will compute with the Go backend only" >&2
  local names=() f
  for f in weights/*.ckpt; do
    [ -e "$f" ] || continue
    case "$(basename "$f")" in
      *[!A-Za-z0-9._-]*) echo "skipping $f: use letters, digits, '.', '_' and '-' in checkpoint names" >&2; continue ;;
    esac
    cp "$f" "$out/weights/"
    names+=("\"$(basename "$f")\"")
  done
  (IFS=,; echo "{\"checkpoints\": [${names[*]:-}]}") > "$out/weights/index.json"
  gzip -9 -n -k "$out/app.wasm" "$out/engine.wasm"
  # Licences of what the site ships besides the project's own code.
  cp "$(go env GOROOT)/LICENSE" "$out/LICENSE.go.txt"
  if [ -f "$out/ort/ort.wasm.min.js" ]; then cp node_modules/onnxruntime-web/LICENSE "$out/ort/LICENSE.txt" 2>/dev/null || true; fi
}

# web_sw writes the service worker with the offline cache's file list: every
# file of the site but the uncompressed .wasm (the page loads the .gz),
# versioned by the files' hash so that a new build replaces it.
web_sw() {
  local out="$1" files version
  files=$(cd "$out" && find . -type f ! -name '*.wasm' ! -name sw.js | sed 's|^\./||' | sort)
  version=$(cd "$out" && echo "$files" | xargs sha256sum | sha256sum | cut -c1-16)
  # "./" (the folder's own URL) is the landing page, when there is one.
  if [ -f "$out/index.html" ]; then files=$(printf './\n%s' "$files"); fi
  files=$(echo "$files" | sed 's|.*|"&"|' | paste -sd, -)
  sed -e "s|@VERSION@|$version|" -e "s|@FILES@|$files|" web/sw.js > "$out/sw.js"
  ls -l "$out"/*.wasm "$out"/*.wasm.gz "$out"/ort/*.wasm* 2>/dev/null || true
}

# The shipped checkpoints' recipe. Every run is deterministic by its seed, so
# rerunning it reproduces weights/ (see weights/README.md). A stage whose
# .done marker exists in runs/weights/ is skipped, so an interrupted recipe
# continues where it stopped; remove runs/weights/ to start over. ART_BIN
# names an art binary to use instead of building bin/art.
WEIGHTS_RUNS=runs/weights
weights_art() {
  if [ -n "${ART_BIN:-}" ]; then echo "$ART_BIN"; else build_art >&2; echo bin/art; fi
}
# -conv-parts 1: the kernel gradients sum their rows in one piece, the order
# the shipped files were trained with (the default splits them into groups,
# which changes the last bits of each step).
weights_stage() { # name, then art train flags
  local name="$1" art="$2"; shift 2
  local out="$WEIGHTS_RUNS/$name"
  if [ -e "$out/.done" ]; then echo "== $name: done before ($out)"; return; fi
  echo "== $name ($(date -u +%H:%M:%S) UTC)"
  rm -rf "$out"
  local t0=$SECONDS
  "$art" train -out "$out" -model WRN-10-1 -data shapes -train-n 10000 -test-n 1000 \
    -eval-n 500 -eval-pgd-n 100 -seed 1 -no-progress -conv-parts 1 "$@"
  echo "$((SECONDS - t0))" > "$out/.done"
}
weights_train() {
  local art
  art=$(weights_art)
  weights_stage natural "$art" -method natural -epochs 8
  # The shipped ART file was trained with the first formulation of the
  # attribution term (weights/README.md), now an ablation.
  weights_stage art "$art" -method art -init "$WEIGHTS_RUNS/natural/model.ckpt" \
    -epochs 2 -lr 0.01 -warmup 0 -lr-epochs 1 -lambda 0.5 -objective triplet-cos-raw
  weights_stage pgd "$art" -method pgd -init "$WEIGHTS_RUNS/natural/model.ckpt" \
    -epochs 2 -lr 0.01 -warmup 0 -lr-epochs 1
}

# weights_figures: test images' IG maps before and after the IFIA attack,
# for the natural and the ART checkpoint (the landing page's figures): the
# first three images of the evaluation's random list (seed 1), which every
# model classifies correctly; same attack settings as the evaluation.
WEIGHTS_FIGURE_IMAGES="1585 764 1516"
weights_figures() {
  local art="$1" m i d
  rm -rf weights/results/figures
  for m in natural art; do
    for i in $WEIGHTS_FIGURE_IMAGES; do
      d=weights/results/figures/$m-$i
      "$art" attack -ckpt "weights/wrn10-1-$m.ckpt" -image "shapes:$i" -method ig -ig-steps 16 \
        -attack ifia -steps 20 -seed 1 -out "$d" >/dev/null
      rm -f "$d"/*.npy
    done
  done
}

# build_weights: the whole recipe. Train (above); publish the three models
# in float16 (weights only); check that float16 keeps the accuracy of the
# float32 originals; evaluate the shipped files (writing weights/results/);
# put each one's numbers into its metadata; draw the landing page's figures.
build_weights() {
  local t0=$SECONDS art m ck=()
  # The Go backend everywhere, even where ./build.sh ort installed ONNX
  # Runtime: the committed numbers are the Go backend's.
  export ART_ORT_LIB=off
  weights_train
  art=$(weights_art)
  mkdir -p weights/results
  for m in natural pgd art; do
    "$art" publish -ckpt "$WEIGHTS_RUNS/$m/model.ckpt" -out "weights/wrn10-1-$m.ckpt"
    ck+=(-ckpt "weights/wrn10-1-$m.ckpt")
  done
  echo "== float32 against float16 clean accuracy"
  "$art" eval -ckpt "$WEIGHTS_RUNS/natural/model.ckpt" -ckpt "$WEIGHTS_RUNS/pgd/model.ckpt" \
    -ckpt "$WEIGHTS_RUNS/art/model.ckpt" "${ck[@]}" -acc-n 1000 -pgd-n 0 -pgd-sweep '' -n 0 \
    -seed 1 -no-progress -report "$WEIGHTS_RUNS/float16-check"
  echo "== evaluation of the shipped checkpoints ($(date -u +%H:%M:%S) UTC)"
  "$art" eval "${ck[@]}" -acc-n 1000 -pgd-n 200 -pgd-steps 20 -pgd-sweep-n 100 \
    -n 100 -ig-steps 16 -steps 20 -seed 1 -no-progress -report weights/results
  for m in natural pgd art; do
    "$art" publish -ckpt "weights/wrn10-1-$m.ckpt" -out "weights/wrn10-1-$m.ckpt" -report weights/results/report.json
  done
  echo "== figures"
  weights_figures "$art"
  echo "weights/ written; this part took $((SECONDS - t0)) s after training (each training stage's seconds are in $WEIGHTS_RUNS/*/.done)"
}

# build_site builds the whole static site into DIR (default dist/): the
# demonstrator, then art site's pages (landing, results, models, docs), then
# the offline cache's list. Relative links only: it works under any sub-path.
build_site() {
  local out="${1:-dist}" art
  build_demo "$out"
  if [ -n "${ART_BIN:-}" ]; then art="$ART_BIN"; else build_art; art=bin/art; fi
  "$art" site -root . -dist "$out" >/dev/null
  web_sw "$out"
  echo "site written to $out/ ($(find "$out" -name '*.html' | wc -l) pages)"
}

run_tests() {
  echo "== gofmt"
  bad=$(gofmt -l native wasm shared 2>/dev/null || true)
  if [ -n "$bad" ]; then echo "gofmt needed on:"; echo "$bad"; exit 1; fi
  echo "== go vet"
  native go vet ./...
  echo "== wasm build"
  build_wasm
  echo "== go test"
  native go test -count=1 -timeout 30m ./...
}

# demo is the main job: train and evaluate (runs/demo/), build the site
# (dist/), say where to open it, and serve it when run from a terminal.
demo() {
  build_art
  out=runs/demo
  mkdir -p "$out"
  ./bin/art demo --out "$out"
  echo
  echo "== the site (demonstrator, results of the shipped checkpoints, docs)"
  ART_BIN=bin/art build_site dist
  echo
  echo "Open the site: bin/art serve -dir dist   (then http://127.0.0.1:8080/ in a browser)"
  if [ -t 0 ] && [ -t 1 ] && [ -z "${ART_NO_SERVE:-}" ]; then
    exec ./bin/art serve -dir dist
  fi
}

case "${1:-demo}" in
  test) run_tests ;;
  art) build_art ;;
  ort) build_ort ;;
  wasm) build_wasm ;;
  bench) native go test -run '^$' -bench "${2:-.}" -benchtime "${3:-3x}" ./... ;;
  perf) build_art; shift; ART_ORT_LIB="${ART_ORT_LIB:-off}" ./bin/art bench -peer ../shared/peer/peer.py -table docs/performance.md "$@" ;;
  demo) demo ;;
  site|web) build_site "${2:-dist}" ;;
  weights) build_weights ;;
  weights-train) weights_train ;;
  *) echo "usage: $0 [demo|test|art|ort|wasm|bench|perf|site [DIR]|weights|weights-train]" >&2; exit 2 ;;
esac
