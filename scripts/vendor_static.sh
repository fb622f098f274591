#!/usr/bin/env bash
# Fetch the browser assets the pages need (Leaflet for the maps, Swagger UI for /docs; axe-core for the accessibility tests) from the npm registry, pinned and checked
# against their published integrity, into api/static/vendor/<pkg>/ (gitignored, never committed).
# The app serves api/static at /static, so Leaflet ends up at /static/vendor/leaflet/leaflet.js.
# Safe to run again: a package already present at the pinned version is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${VEILIG_VENDOR_DIR:-api/static/vendor}

# name version sha512-integrity (as the registry publishes it) files-to-keep (relative to package/)
PACKAGES=(
    "leaflet 1.9.4 sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA== dist/leaflet.js,dist/leaflet.js.map,dist/leaflet.css,dist/images,LICENSE"
    "axe-core 4.14.1 sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ== axe.min.js,LICENSE"
    "swagger-ui-dist 5.32.0 sha512-nKZB0OuDvacB0s/lC2gbge+RigYvGRGpLLMWMFxaTUwfM+CfndVk9Th2IaTinqXiz6Mn26GK2zriCpv6/+5m3Q== swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,LICENSE"
)

die() { echo "vendor_static: $*" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js/npm and rerun"
command -v node >/dev/null 2>&1 || die "node not found; install Node.js and rerun"

mkdir -p "$DEST"
for spec in "${PACKAGES[@]}"; do
    read -r name version integrity keep <<<"$spec"
    target="$DEST/$name"
    if [[ -f "$target/.version" && "$(cat "$target/.version")" == "$name@$version" ]]; then
        echo "vendor_static: $name@$version present"
        continue
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    if ! (cd "$work" && npm pack --ignore-scripts --loglevel=error "$name@$version" >pack.out 2>pack.err); then
        cat "$work/pack.err" >&2 || true
        die "npm pack $name@$version failed"
    fi
    tarball="$work/$(tail -n 1 "$work/pack.out")"
    [[ -f "$tarball" ]] || die "npm pack $name@$version produced no tarball"
    actual="sha512-$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
    [[ "$actual" == "$integrity" ]] || die "$name@$version: integrity mismatch (expected $integrity, got $actual)"
    tar -xzf "$tarball" -C "$work"
    stage="$work/stage"
    mkdir -p "$stage"
    IFS=',' read -r -a files <<<"$keep"
    for f in "${files[@]}"; do
        [[ -e "$work/package/$f" ]] || die "$name@$version: $f missing from the package"
        # dist/ contents go to the package root, so leaflet.css finds images/ beside it.
        cp -R "$work/package/$f" "$stage/"
    done
    echo "$name@$version" >"$stage/.version"
    rm -rf "$target.tmp" && mv "$stage" "$target.tmp"
    rm -rf "$target" && mv "$target.tmp" "$target"
    rm -rf "$work"
    trap - EXIT
    echo "vendor_static: $name@$version -> $target"
done
