#!/usr/bin/env bash
# The .deb as an admin gets it, installed into this machine (CI machines are throwaway): built,
# linted, installed as the previous version, configured the way docs/operations.md says,
# checked with systemd-analyze, run against a throwaway slapd with one signed event, upgraded
# (the admin's config edits and the state database must survive) and purged.
#   package_test.sh SOURCE_DIR BUILD_DIR
# The previous version is this commit's package with a lower Debian revision: building the
# previous release would double the build time, and what an upgrade must keep (conffiles, the
# state database and its schema migration on open) is the same either way.
set -euo pipefail
src=$1 build=$2
if [ "$(id -u)" -ne 0 ]; then
  # In googletest's words, so scripts/lib/skipped-tests finds the reason.
  printf 'package_test.sh: Skipped\nneeds root to install the package into this machine\n[  SKIPPED ]\n'
  exit 77
fi

conf=/etc/provisiond/provisiond.yaml
unit=/usr/lib/systemd/system/provisiond.service
harness="$src/tests/harness/slapd.sh"
work=$(mktemp -d /tmp/provisiond-package.XXXXXX)
chmod 0711 "$work"  # the service user reaches its credentials folder inside
daemon_pid=""
installed=""  # set once this test has installed the package: only then does cleanup purge it
stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
}
cleanup() {
  stop_daemon
  "$harness" stop "$work/slapd" >/dev/null 2>&1 || true
  if [ -n "$installed" ]; then
    PROVISIOND_PURGE_STATE=yes dpkg --purge provisiond >/dev/null 2>&1 || true
    rm -rf /etc/provisiond
  fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect DESCRIPTION COMMAND...: the command must succeed.
expect() { local d=$1; shift; "$@" || fail "$d"; }
wait_until() {  # wait_until DESCRIPTION COMMAND... (polls every 10 ms, 30 s deadline)
  local desc=$1; shift
  for _ in $(seq 1 3000); do "$@" && return 0; sleep 0.01; done
  tail -20 "$work/provisiond.log" >&2 || true
  fail "timed out waiting for: $desc"
}
owner_mode() { stat -c '%U:%G %a' "$1"; }

step "build the package and the previous version"
deb=$("$src/scripts/package" --no-build | tail -1)
old=$("$src/scripts/package" --no-build -D CPACK_DEBIAN_PACKAGE_RELEASE=0 -B "$work/old" | tail -1)
echo "$deb"
echo "$old"
dpkg-deb --info "$deb" | sed -n 's/^ \(Version\|Depends\):/  \1:/p'

step "lintian"
# Errors and warnings fail; any override is in packaging/lintian/ with its reason.
lintian --fail-on error,warning --info "$deb"
echo "lintian: no errors, no warnings; overridden:"
grep -v "^#" "$src/packaging/lintian/provisiond"

step "install the previous version on a machine without provisiond"
# Never take over a machine's own provisiond (this test purges what it installed, state and all).
status=$(dpkg-query -W -f='${Status}' provisiond 2>/dev/null || true)
if { [ -n "$status" ] && [ "${status##* }" != not-installed ]; } || [ -e /var/lib/provisiond ]; then
  fail "provisiond is installed here, or its state is; the package test needs a machine without it"
fi
installed=yes
dpkg -i "$old"
expect "the provisiond user" getent passwd provisiond >/dev/null
expect "/etc/provisiond root:provisiond 750" test "$(owner_mode /etc/provisiond)" = "root:provisiond 750"
expect "state folder" test "$(owner_mode /var/lib/provisiond)" = "provisiond:provisiond 700"
expect "password folder" test "$(owner_mode /var/lib/provisiond/passwords)" = "provisiond:provisiond 700"
expect "enabled" test -L /etc/systemd/system/multi-user.target.wants/provisiond.service
expect "man page" sh -c 'zcat /usr/share/man/man8/provisiond.8.gz | grep -q check-config'
expect "README" test -f /usr/share/doc/provisiond/README.md
expect "binaries" test -x /usr/sbin/provisiond -a -x /usr/bin/provisionctl

step "check-config on the fresh install names every missing secret file"
if out=$(provisiond --config "$conf" --check-config 2>&1); then fail "check-config passed without secrets"; fi
echo "$out"
for want in "/etc/provisiond/webhook.secret" "/etc/provisiond/bind.secret" \
  "provisionctl secret new webhook /etc/provisiond/webhook.secret"; do
  grep -qF "$want" <<<"$out" || fail "check-config does not say: $want"
done

step "systemd-analyze on the installed unit"
systemd-analyze verify "$unit"
# --threshold counts tenths: exposure at most 1.5 passes.
systemd-analyze security --offline=true --threshold=15 "$unit" | tail -1

step "configure it (docs/operations.md, Install from the package) against a throwaway slapd"
"$harness" start "$work/slapd" "$("$harness" free-port)" "$("$harness" free-port)" >/dev/null
# shellcheck disable=SC1091
source "$work/slapd/env"
provisionctl secret new webhook
printf '%s\n' "$BIND_PW" | provisionctl secret set /etc/provisiond/bind.secret
install -m 0644 "$CA_FILE" /etc/provisiond/ca.pem
webhook_port=$("$harness" free-port)
admin_port=$("$harness" free-port)
sed -i -e "s|127.0.0.1:8080|127.0.0.1:$webhook_port|" -e "s|127.0.0.1:8081|127.0.0.1:$admin_port|" \
  -e "s|url: ldaps://ldap.example.com:636|url: $LDAPS_URL|" \
  -e "s|bind_dn: cn=provisiond,ou=services,dc=example,dc=com|bind_dn: $BIND_DN|" \
  -e "s|# ca_file: /etc/provisiond/ca.pem |ca_file: /etc/provisiond/ca.pem   |" "$conf"
provisiond --config "$conf" --check-config
edited=$(sha256sum "$conf")

# The unit's way, without systemd (not running here): its user, its secrets as credentials.
start_daemon() {
  local creds="$work/credentials"
  rm -rf "$creds" && install -d -m 0700 -o provisiond -g provisiond "$creds"
  install -m 0400 -o provisiond -g provisiond /etc/provisiond/webhook.secret "$creds/webhook.secret"
  install -m 0400 -o provisiond -g provisiond /etc/provisiond/bind.secret "$creds/bind.secret"
  CREDENTIALS_DIRECTORY="$creds" setpriv --reuid=provisiond --regid=provisiond --init-groups \
    /usr/sbin/provisiond --config "$conf" >>"$work/provisiond.log" 2>&1 &
  daemon_pid=$!
  wait_until "provisiond healthy" healthy
}
healthy() {
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/provisiond.log" >&2; fail "provisiond exited"; }
  curl -fs -o /dev/null "http://127.0.0.1:$admin_port/healthz"
}
has_entry() {
  LDAPTLS_CACERT="$CA_FILE" ldapsearch -LLL -H "$LDAPS_URL" -D "$BIND_DN" -w "$BIND_PW" \
    -b "$BASE_DN" "(employeeNumber=$1)" dn 2>/dev/null | grep -q '^dn:'
}
hire() {  # hire WORKER_ID FIRST LAST: one signed HIRE, answered 202
  cat >"$work/$1.json" <<JSON
{"eventId": "evt-hire-$1", "eventType": "HIRE", "effectiveAt": "$(date -u +%FT%T.%3NZ)",
 "worker": {"workerId": "$1", "firstName": "$2", "lastName": "$3", "department": "Finance",
  "jobTitle": "Accountant", "jobCode": "Fin-1", "location": "Berlin", "country": "DE",
  "workerType": "Employee", "managerId": "", "hireDate": "$(date -u +%F)", "contractEndDate": ""}}
JSON
  local code
  code=$("$src/scripts/lib/send-event" "http://127.0.0.1:$webhook_port/v1/hr/events" \
    /etc/provisiond/webhook.secret "$work/$1.json")
  [ "$code" = 202 ] || fail "hire $1: HTTP $code"
  wait_until "the directory entry of worker $1" has_entry "$1"
  echo "worker $1: entry present"
}

step "run the installed binary, send one signed event"
start_daemon
hire 7001 Ada Lovelace
stop_daemon

step "upgrade to this version"
dpkg -i "$deb"
expect "version" test "$(dpkg-query -W -f='${Version}' provisiond)" = "$(dpkg-deb -f "$deb" Version)"
expect "the admin's config edits are kept" test "$(sha256sum "$conf")" = "$edited"
expect "the secret files are kept" test -s /etc/provisiond/webhook.secret
start_daemon
status=$(provisionctl --config "$conf" status --json)
echo "$status"
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["inbox_pending"]==0 else 1)' \
  "$status" || fail "state after upgrade"
expect "the event from before the upgrade is in the state database" \
  sh -c "provisionctl --config $conf audit --json --limit 0 | grep -q evt-hire-7001"
hire 7002 Grace Hopper
stop_daemon

step "purge keeps the state unless asked"
dpkg --purge provisiond
expect "config gone" test ! -e "$conf" -a ! -e /etc/provisiond/policies
expect "secret files gone" test ! -e /etc/provisiond/webhook.secret -a ! -e /etc/provisiond/bind.secret
rm -rf /etc/provisiond  # what the admin added (ca.pem) is the admin's to remove
expect "state kept" test -s /var/lib/provisiond/state.db
dpkg -i "$deb" >/dev/null
PROVISIOND_PURGE_STATE=yes dpkg --purge provisiond
expect "state removed with PROVISIOND_PURGE_STATE=yes" test ! -e /var/lib/provisiond
echo "package test: ok"
