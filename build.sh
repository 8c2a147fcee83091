#!/usr/bin/env bash
# build.sh: the project's one entry point.
#
#   ./build.sh            the main job: train natural and ART models on the built-in
#                         dataset and evaluate them (same as ./build.sh demo)
#   ./build.sh test       every check CI runs: gofmt, go vet, all tests, the WASM build
#   ./build.sh art        build the native command into bin/art
#   ./build.sh wasm       build the shared packages for GOOS=js GOARCH=wasm
#   ./build.sh bench      run the Go benchmarks
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

demo() {
  build_art
  out=runs/demo
  mkdir -p "$out"
  ./bin/art demo --out "$out"
}

case "${1:-demo}" in
  test) run_tests ;;
  art) build_art ;;
  wasm) build_wasm ;;
  bench) native go test -run '^$' -bench "${2:-.}" -benchtime "${3:-3x}" ./... ;;
  demo) demo ;;
  *) echo "usage: $0 [demo|test|art|wasm|bench]" >&2; exit 2 ;;
esac
