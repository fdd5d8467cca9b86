#!/usr/bin/env bash
# Lint deploy/template.yaml with cfn-lint, the SAM transform included.
#
# cfn-lint 1.54 and later no longer run the AWS::Serverless transform: they check SAM
# resources against schemas only and miss a broken !Ref, a bad runtime or a bad cron inside
# them. 1.53.3 runs the real transform (aws-sam-translator) offline, so it is pinned here,
# in its own virtualenv: the test extra's moto[server] pulls in a newer cfn-lint, and the
# two must not share an environment.
#
# Usage: deploy/lint.sh [extra cfn-lint arguments]
# Env:   CFN_LINT_VENV (default .ci/cfn-venv), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION="1.53.3"
SAM_TRANSLATOR_VERSION="1.115.0" # the newest at the time of pinning, tested with cfn-lint 1.53.3
VENV="${CFN_LINT_VENV:-.ci/cfn-venv}"
TEMPLATE="deploy/template.yaml"

echo "== cfn-lint ${CFN_LINT_VERSION} (SAM transform) on ${TEMPLATE}"

# Reuse the virtualenv when it already holds the pinned versions; (re)install otherwise.
installed() {
    "$VENV/bin/python" - "$CFN_LINT_VERSION" "$SAM_TRANSLATOR_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version

wanted = {"cfn-lint": sys.argv[1], "aws-sam-translator": sys.argv[2]}
sys.exit(0 if all(version(name) == pin for name, pin in wanted.items()) else 1)
EOF
}

if [[ ! -x "$VENV/bin/python" ]] || ! installed; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    # The virtualenv ignores itself, so git never sees it whatever the root .gitignore says.
    printf '*\n' >"$VENV/.gitignore"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cfn-lint==${CFN_LINT_VERSION}" "aws-sam-translator==${SAM_TRANSLATOR_VERSION}"
    installed || { echo "cfn-lint ${CFN_LINT_VERSION} did not install in $VENV" >&2; exit 1; }
fi

# 1. The template itself: any error or warning fails.
"$VENV/bin/cfn-lint" "$TEMPLATE" "$@"

# 2. Canary: the same template with a !Ref to nothing inside the SAM function must fail.
#    If it passes, the transform did not run (e.g. someone raised the pin above 1.53.x) and
#    the clean result of step 1 means nothing.
canary_dir="$(mktemp -d)"
trap 'rm -rf "$canary_dir"' EXIT
"$VENV/bin/python" - "$TEMPLATE" "$canary_dir/canary.json" <<'EOF'
import json
import sys

from cfnlint.decode import decode

template, problems = decode(sys.argv[1])
if template is None:
    sys.exit(f"cannot read {sys.argv[1]}: {problems}")
functions = [
    resource
    for resource in template["Resources"].values()
    if resource.get("Type") == "AWS::Serverless::Function"
]
if not functions:
    sys.exit("no AWS::Serverless::Function in the template: nothing to check the transform on")
variables = functions[0]["Properties"].setdefault("Environment", {}).setdefault("Variables", {})
variables["LINT_CANARY"] = {"Ref": "NoSuchResourceLintCanary"}
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(template, out, default=str)
EOF
if canary_output="$("$VENV/bin/cfn-lint" "$canary_dir/canary.json" 2>&1)"; then
    echo "cfn-lint accepted a broken !Ref inside the SAM function: the SAM transform did not run" >&2
    exit 1
fi
if ! grep -q "NoSuchResourceLintCanary" <<<"$canary_output"; then
    echo "the canary failed for another reason than its broken !Ref:" >&2
    echo "$canary_output" >&2
    exit 1
fi
echo "cfn-lint: ${TEMPLATE} is clean; the SAM transform ran (a broken !Ref in the function is caught)"
