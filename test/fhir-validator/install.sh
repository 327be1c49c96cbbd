#!/usr/bin/env bash
# Fetch the HAPI FHIR validator's jars (pom.xml here) once into the git-ignored .tools/fhir-validator/lib,
# from Maven Central through Maven. Maven's local repository is a cache shared by every clone on the
# machine (~/.cache/kap-pathways/m2, as for the Temporal server; KAP_M2_REPO overrides), so a fresh clone
# (CI's) copies the jars instead of downloading 160 MB again.
# Idempotent: a complete lib/ for this pom.xml (its hash in lib/.pom-sha256) is left alone. Exits non-zero
# when the jars cannot be had: the validation test then fails, it never skips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=$root/.tools/fhir-validator
want=$(sha256sum "$here/pom.xml" | cut -d' ' -f1)
if [ -f "$dest/lib/.pom-sha256" ] && [ "$(cat "$dest/lib/.pom-sha256")" = "$want" ]; then exit 0; fi
command -v mvn >/dev/null || { echo "fhir-validator: mvn (Maven) is not installed" >&2; exit 1; }
command -v java >/dev/null || { echo "fhir-validator: java is not installed" >&2; exit 1; }
rm -rf "$dest/lib.tmp"
m2=${KAP_M2_REPO:-${XDG_CACHE_HOME:-$HOME/.cache}/kap-pathways/m2}
mkdir -p "$m2"
mvn -q -B -f "$here/pom.xml" -Dmaven.repo.local="$m2" dependency:copy-dependencies \
  -DoutputDirectory="$dest/lib.tmp" -DincludeScope=runtime >&2
ls "$dest/lib.tmp"/hapi-fhir-validation-*.jar >/dev/null
echo "$want" > "$dest/lib.tmp/.pom-sha256"
rm -rf "$dest/lib" && mv "$dest/lib.tmp" "$dest/lib"
