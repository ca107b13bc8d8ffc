#!/usr/bin/env bash
# Install the package the way a user would: a new virtual environment in a temporary folder, `pip install .`
# (dependencies resolved from pyproject.toml alone), then the code of the README's section "Use the plastic
# layer in your model" run by that environment's Python from outside the source tree.
#   tools/check_install.sh            (PYTHON=python3.11 to choose the interpreter; KEEP=1 keeps the folder)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_install.XXXXXX")
[ "${KEEP:-0}" = 1 ] && echo "keeping $tmp" || trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

run() { echo "+ $*"; "$@"; }

# a copy of what the package is built from, so the build leaves nothing in the source tree
mkdir "$tmp/src"
cp "$root/pyproject.toml" "$root/README.md" "$tmp/src/"
cp -r "$root/plasticity_utils" "$tmp/src/"
find "$tmp/src" -name __pycache__ -prune -exec rm -rf {} +

run "$python" -m venv "$tmp/venv"
py="$tmp/venv/bin/python"
(cd "$tmp/src" && run "$py" -m pip install --quiet .)
echo "+ $py -m pip list --format=freeze | grep (the package and its main dependencies)"
"$py" -m pip list --format=freeze | grep -iE '^(plasticity.utils|torch|numpy|scipy|pandas|matplotlib)=='

# the README section's python blocks, in order, as one script
"$py" - "$root/README.md" "$tmp/example.py" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
title = "## Use the plastic layer in your model"
start = text.index(title)
end = text.find("\n## ", start + len(title))
blocks = re.findall(r"^```python\n(.*?)^```$", text[start:end if end >= 0 else None], flags=re.S | re.M)
if not blocks:
    sys.exit(f"error: no python code in the section {title[3:]!r} of {sys.argv[1]}")
open(sys.argv[2], "w").write("\n".join(blocks))
PY
cd "$tmp"
run "$py" -c "import plasticity_utils as p; print('plasticity_utils', p.__version__, 'from', p.__file__)"
run "$py" example.py
echo "check_install: ok in $((SECONDS - start)) s"
