#!/usr/bin/env bash
# Install the built jar (with its POM, sources and javadoc, from dist/java, the Maven repository
# layout jsii-pacmak writes) into the local Maven repository $M2_LOCAL, where the Java example
# and the README's Java translation resolve it, as a team would from its own registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh
dir=$(dirname "$(find "$DIST_DIR/java" -name '*.pom' | sed -n 1p)")
base=$(basename "$dir/"*.pom .pom)
mvn -B -q -Dmaven.repo.local="$M2_LOCAL" org.apache.maven.plugins:maven-install-plugin:3.1.3:install-file \
  -Dfile="$dir/$base.jar" -DpomFile="$dir/$base.pom" \
  -Dsources="$dir/$base-sources.jar" -Djavadoc="$dir/$base-javadoc.jar"
echo "installed $base into ${M2_LOCAL#"$PWD"/}"
