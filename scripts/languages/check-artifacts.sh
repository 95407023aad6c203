#!/usr/bin/env bash
# The dry run of publishing: each built artifact (dist/) is what its registry accepts. Nothing
# is uploaded. The Go module is built and vetted by scripts/languages/build-go.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh

fail() {
  echo "$*" >&2
  exit 1
}

# PyPI: the wheel and sdist pass twine's metadata and README-rendering checks.
twine check --strict "$DIST_DIR"/python/*

# Maven Central: jar, sources and javadoc jars, and a POM with what Central requires.
pom=$(find "$DIST_DIR/java" -name '*.pom' | sed -n 1p)
base=${pom%.pom}
for f in "$base.jar" "$base-sources.jar" "$base-javadoc.jar"; do [ -s "$f" ] || fail "missing $f"; done
for tag in groupId artifactId version name description url licenses scm developers; do
  grep -q "<$tag>" "$pom" || fail "$pom has no <$tag> (Maven Central requires it)"
done
jar=$(unzip -l "$base.jar")
grep -q 'io/github/cdkprivateegressproxy/PrivateEgressProxy.class' <<<"$jar" || fail "$base.jar has no PrivateEgressProxy.class"
grep -q '\.jsii\.tgz' <<<"$jar" || fail "$base.jar does not embed the jsii assembly tarball"
echo "Maven: $(basename "$base").jar ($(grep -c '\.class$' <<<"$jar") classes), sources, javadoc, POM"

# NuGet: code only here (no .NET SDK); the project file is there for a full build.
find "$DIST_DIR/dotnet-code" -name '*.csproj' | grep . >/dev/null || fail "no .csproj in $DIST_DIR/dotnet-code"
echo ".NET: $(find "$DIST_DIR/dotnet-code" -name '*.cs' | wc -l) C# files generated (building the .nupkg needs the .NET SDK)"

# npm: the tarball npm would publish holds no build output or scratch files.
files=$(npm pack --dry-run --json 2>/dev/null | node -e 'for (const f of JSON.parse(require("fs").readFileSync(0))[0].files) console.log(f.path)')
if grep -E '^(dist|\.tmp|cdk\.out|test|src|examples)/' <<<"$files"; then fail "npm pack would ship the files above"; fi
echo "npm: $(wc -l <<<"$files") files in the tarball, no dist/, .tmp/, cdk.out/, src/, test/ or examples/"
