#!/usr/bin/env bash
# Runs every test project in the solution (already built in Release) and prints one closing line:
# "N passed, N failed, N skipped", after the name and first message line of every failed test (so a log's tail
# says what failed). Exit status is dotnet test's.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test FnOperator.sln -c Release --no-build \
  --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 10m "$@"
rc=$?
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo
if [ "$failed" -gt 0 ]; then
  # Each failed <UnitTestResult> of the trx files: its test name and the first line of its error message.
  python3 - "$results" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for trx in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") != "Failed":
            continue
        msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        first = (msg.text or "").strip().splitlines()[0][:300] if msg is not None and msg.text else ""
        print(f"FAILED: {r.get('testName')} ({r.get('duration')}): {first}")
PY
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$rc"
