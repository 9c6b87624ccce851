#!/bin/sh
# The source revision is read by every build (cmake/source_revision.cmake), not when CMake
# configures: `bench --version` names the commit of the tree it was built from, "-dirty" when a
# tracked file differed from it. The script itself is checked on throwaway repositories: clean,
# edited, untracked file only, outside git, and an unchanged revision leaves the header untouched.
# Usage: source_revision_test.sh BENCH SOURCE_DIR CMAKE
set -eu
bench=$1
source=$2
cmake=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# What the script should write for a folder: the same rule, spelled with git's own commands.
expected_revision() {
  if commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null); then
    if [ -n "$(git -C "$1" status --porcelain --untracked-files=no)" ]; then
      echo "$commit-dirty"
    else
      echo "$commit"
    fi
  else
    echo unknown
  fi
}
revision_written_for() {
  "$cmake" -DSOURCE_DIR="$1" -DOUTPUT="$work/revision.h" -P "$source/cmake/source_revision.cmake"
  sed -n 's/^#define LMC_SOURCE_REVISION "\(.*\)"$/\1/p' "$work/revision.h"
}
check() {  # folder, what it is
  written=$(revision_written_for "$1")
  want=$(expected_revision "$1")
  [ "$written" = "$want" ] || fail "$2: the script wrote '$written', git says '$want'"
  echo "$2: $written"
}

# The build: bench names this tree. A tree edited or committed since the last build fails here
# until it is built again, which is the point: the binary reports what it was built from.
built=$("$bench" --version | sed -n 's/^bench (lmc-bench) .* revision \([^ ]*\)$/\1/p')
tree=$(expected_revision "$source")
[ "$built" = "$tree" ] ||
  fail "bench --version says revision '$built', the source tree is at '$tree' (build again?)"
echo "bench --version: revision $built"

repo="$work/repo"
mkdir "$repo"
git -C "$repo" init -q
echo one > "$repo/file.txt"
git -C "$repo" add file.txt
git -C "$repo" -c user.name=test -c user.email=test@example.org commit -q -m one
check "$repo" "clean"
case "$written" in *-dirty | unknown) fail "a clean checkout reads as '$written'" ;; esac

touch -d '2000-01-01' "$work/revision.h"
check "$repo" "unchanged"
[ -z "$(find "$work/revision.h" -newermt '2001-01-01')" ] ||
  fail "an unchanged revision rewrote the header (everything would recompile)"

echo new > "$repo/untracked.txt"
check "$repo" "untracked file"
case "$written" in *-dirty) fail "an untracked file made the tree dirty" ;; esac

echo two > "$repo/file.txt"
check "$repo" "edited"
case "$written" in *-dirty) ;; *) fail "an edited tree reads as '$written'" ;; esac

git -C "$repo" -c user.name=test -c user.email=test@example.org commit -q -a -m two
check "$repo" "new commit"

mkdir "$work/plain"
export GIT_CEILING_DIRECTORIES="$work"  # in case the temporary folder lies inside a checkout
check "$work/plain" "outside git"
[ "$written" = unknown ] || fail "outside git the revision is '$written'"
