#!/bin/sh
# run-as USER PROGRAM [ARGS...]: runs PROGRAM as USER (with USER's groups from /etc/group),
# keeping the environment (busybox su resets only HOME, SHELL, USER and LOGNAME). Installed in
# the guest as /usr/bin/run-as for the guest test scripts; busybox has no setpriv --reuid.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: run-as USER PROGRAM [ARGS...]" >&2
  exit 2
fi
user=$1
shift
# su takes a single command string: quote every argument for sh.
cmd="exec"
for a in "$@"; do
  cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
done
exec su -s /bin/sh -c "$cmd" "$user"
