#!/usr/bin/env bash
# Lists the commits since the last tag as "<type>: <subject>" lines.
set -euo pipefail
since=$(git describe --tags --abbrev=0 2>/dev/null || git rev-list --max-parents=0 HEAD)
git log --format='%s' "$since..HEAD" | sort
