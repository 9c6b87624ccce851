#!/bin/sh
# Stands in for a test whose tool this build did not find (CMake registers it in the real test's
# place, so the test never vanishes): skipped with the reason on a user's machine (exit 77, the
# test's SKIP_RETURN_CODE), failed under CI=true, where every tool is installed.
# Usage: missing_tool_test.sh WHAT_IS_MISSING HOW_TO_INSTALL
echo "$1 not found when CMake configured: $2, then reconfigure"
if [ "${CI:-}" = true ]; then
  echo "CI=true: the tool must be there"
  exit 1
fi
exit 77
