# Helpers for the package checks: each check prints "ok" or "FAIL" with what it looked at, and
# summary prints the count the way CI's log reader expects.
passed=0
failed=0

check() {  # check "what" command...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    echo "ok    $what"
    passed=$((passed + 1))
  else
    echo "FAIL  $what"
    failed=$((failed + 1))
  fi
}

summary() {  # summary name
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
