#!/usr/bin/env bash
# Appends the name of each tool Claude used to .claude/tool-use.log.
set -euo pipefail
mkdir -p .claude
jq -r '.tool_name // "unknown"' >> .claude/tool-use.log
