#!/usr/bin/env bash
# Builds the phone library and generates its Kotlin, Swift and Python bindings with the
# workspace's uniffi-bindgen (the same pinned uniffi as the library).
#
#   mobile-bindings/generate.sh [OUT_DIR] [LANGUAGE...]
#
# OUT_DIR defaults to target/bindings; languages default to kotlin swift python. Each language
# goes to OUT_DIR/<language>, and the Python module also gets the library next to it, so that
# `PYTHONPATH=OUT_DIR/python python3 -c 'import mobile_bindings'` works. Generated files are build
# output: never commit them.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-target/bindings}"
shift || true
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(kotlin swift python)

target_dir="${CARGO_TARGET_DIR:-target}"
cargo build -p mobile-bindings -p uniffi-bindgen
case "$(uname -s)" in
  Darwin) lib="$target_dir/debug/libmobile_bindings.dylib" ;;
  *) lib="$target_dir/debug/libmobile_bindings.so" ;;
esac
[ -f "$lib" ] || { echo "generate.sh: $lib was not built" >&2; exit 1; }

for lang in "${langs[@]}"; do
  mkdir -p "$out/$lang"
  "$target_dir/debug/uniffi-bindgen" generate --library "$lib" --language "$lang" \
    --out-dir "$out/$lang" --no-format
  if [ "$lang" = python ]; then
    cp "$lib" "$out/python/"
  fi
  echo "generated $lang bindings in $out/$lang"
done
