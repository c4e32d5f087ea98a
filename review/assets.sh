#!/usr/bin/env bash
# Brings the review pages' front-end assets in from the npm registry, at the
# versions package-lock.json pins, and copies the compiled files where
# go:embed (static/) and the browser tests (testdata/) find them. Run it
# (or `make assets`) after changing package.json; commit package-lock.json
# and the copied files, so `go build` and `make demo` need only Go.
set -euo pipefail
cd "$(dirname "$0")"

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

dist=node_modules/nhsuk-frontend/dist/nhsuk
rm -rf static/nhsuk
mkdir -p static/nhsuk/assets/images
# The stylesheet only: no function of the pages needs JavaScript, so the
# design system's optional script is left out and the CSP stays script-src 'none'.
cp "$dist/nhsuk-frontend.min.css" static/nhsuk/nhsuk-frontend.min.css
cp "$dist"/assets/images/*.svg "$dist"/assets/images/favicon.ico static/nhsuk/assets/images/
cp node_modules/axe-core/axe.min.js testdata/axe.min.js
echo "assets: nhsuk-frontend $(node -p 'require("./node_modules/nhsuk-frontend/package.json").version'), axe-core $(node -p 'require("./node_modules/axe-core/package.json").version')"
