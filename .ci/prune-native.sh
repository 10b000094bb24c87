#!/bin/sh
# Removes what the native modules needed only to compile (sources, object files, static
# libraries: ~27 MB) from a production node_modules. The loaded .node files stay.
# Run by the Dockerfile's build stage and by .ci/run's container steps (the same layout).
set -eu
cd "${1:-.}/node_modules"
rm -rf better-sqlite3/deps better-sqlite3/src better-sqlite3/build/deps \
  better-sqlite3/build/Release/obj better-sqlite3/build/Release/obj.target \
  better-sqlite3/build/Release/sqlite3.a better-sqlite3/build/Release/test_extension.node \
  argon2/build/Release/obj.target argon2/build/Release/argon2.a
