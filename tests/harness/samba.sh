#!/usr/bin/env bash
# Starts and stops a throwaway Samba AD domain controller for integration tests.
#
#   samba.sh start DIR   provision realm EXAMPLE.TEST into DIR (wiped first), start samba, wait
#                        until LDAPS answers, create the test OUs, write DIR/env (KEY=VALUE)
#   samba.sh stop DIR    stop the instance recorded in DIR and wait until its ports are free
#
# Samba listens on the fixed ports 389 and 636 of 127.0.0.1 only. Provisioning takes a few
# seconds, so a test run starts one instance (a ctest fixture) and every test shares it.
# Layout: OU=People, OU=Contractors, OU=Disabled, OU=Groups (with the group all-staff).
# The DC is kept off the network: loopback interface only, no NetBIOS, no DNS server, no dynamic
# DNS updates, and an explicit list of services.
set -euo pipefail

readonly REALM=EXAMPLE.TEST
readonly DOMAIN=EXAMPLE
readonly BASE_DN="DC=example,DC=test"
readonly ADMIN_PW="Adm1n-Test-Passw0rd!"
readonly START_DEADLINE_S=60
readonly STOP_DEADLINE_S=20

die() { echo "samba.sh: $*" >&2; exit 1; }

usage() { die "usage: samba.sh start|stop DIR"; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

recorded_pid() {
  local dir=$1
  if [[ -f "$dir/env" ]]; then
    sed -n 's/^PID=//p' "$dir/env"
  elif [[ -f "$dir/pid/samba.pid" ]]; then
    tr -dc '0-9' <"$dir/pid/samba.pid"
  fi
}

# Polls until `$@` succeeds or $deadline (seconds since epoch) passes.
wait_until() {
  local deadline=$1; shift
  until "$@"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.1
  done
}

ports_free() { ! port_busy 389 && ! port_busy 636; }

make_certificates() {
  local tls=$1
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=provisiond test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.example.test" \
    -keyout "$tls/key.pem" -out "$tls/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:dc1.example.test" \
    "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/server.ext" -out "$tls/cert.pem" 2>/dev/null
  chmod 600 "$tls/key.pem" "$tls/ca.key"
}

ldaps() {
  local tool=$1; shift
  LDAPTLS_CACERT="$DIR/tls/ca.pem" LDAPTLS_REQCERT=demand "$tool" -x -o nettimeout=5 \
    -H ldaps://127.0.0.1:636 -D "cn=Administrator,cn=Users,$BASE_DN" -w "$ADMIN_PW" "$@"
}

ldaps_answers() { ldaps ldapsearch -b "$BASE_DN" -s base dn >/dev/null 2>&1; }

start() {
  local pid
  pid=$(recorded_pid "$DIR" || true)
  if pid_alive "$pid"; then
    echo "samba.sh: stopping the earlier instance recorded in $DIR (pid $pid)" >&2
    stop
  fi
  if port_busy 389 || port_busy 636; then
    die "127.0.0.1:389 or :636 is already in use; refusing to start (another LDAP server?)"
  fi

  rm -rf "$DIR"
  mkdir -p "$DIR"/{pid,log,run,winbindd,ncalrpc}
  mkdir -m 700 "$DIR/passwords"  # one-time passwords the connector delivers
  make_certificates "$DIR/tls"

  local t0=$SECONDS
  samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
    --dns-backend=NONE --use-rfc2307 --adminpass="$ADMIN_PW" --host-ip=127.0.0.1 \
    --host-name=dc1 --targetdir="$DIR" \
    --option="interfaces = lo" --option="bind interfaces only = yes" \
    --option="server services = ldap, cldap, kdc, rpc, drepl, kcc, winbindd, ntp_signd, s3fs" \
    --option="disable netbios = yes" --option="dns update command = /bin/true" \
    --option="pid directory = $DIR/pid" --option="log file = $DIR/log/samba.log" \
    --option="winbindd socket directory = $DIR/winbindd" --option="ncalrpc dir = $DIR/ncalrpc" \
    --option="tls enabled = yes" --option="tls keyfile = $DIR/tls/key.pem" \
    --option="tls certfile = $DIR/tls/cert.pem" --option="tls cafile = $DIR/tls/ca.pem" \
    --option="ldb:nosync = true" --option="dsdb:schema update allowed = true" \
    >"$DIR/log/provision.log" 2>&1 || { tail -n 20 "$DIR/log/provision.log" >&2; die "provision failed"; }

  # The process group is left on purpose (setsid): a test runner that kills the starting
  # script's group must not take the shared DC with it; `stop` ends it by pid.
  setsid samba -F -s "$DIR/etc/smb.conf" --maximum-runtime=3600 </dev/null \
    >"$DIR/log/samba.out" 2>&1 &
  pid=$!

  local deadline=$(( $(date +%s) + START_DEADLINE_S ))
  until ldaps_answers; do
    if ! pid_alive "$pid"; then
      tail -n 20 "$DIR/log/samba.out" >&2 || true
      die "samba exited during start-up (see $DIR/log)"
    fi
    if (( $(date +%s) >= deadline )); then
      kill "$pid" 2>/dev/null || true
      die "LDAPS did not answer within ${START_DEADLINE_S}s (see $DIR/log)"
    fi
    sleep 0.1
  done

  # employeeID (how the connector finds a worker's account) is not indexed in AD's default
  # schema; without the index every lookup scans all users. Sites are advised to index it too.
  ldaps ldapmodify >"$DIR/log/schema.log" 2>&1 <<EOF || { kill "$pid"; die "indexing employeeID failed (see $DIR/log/schema.log)"; }
dn: CN=Employee-ID,CN=Schema,CN=Configuration,$BASE_DN
changetype: modify
replace: searchFlags
searchFlags: 1
-

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-
EOF

  # Tests set and reset passwords in quick succession: keep complexity on (the connector must
  # generate passwords AD accepts) but drop the minimum age and the history.
  ldaps ldapmodify >"$DIR/log/layout.log" 2>&1 <<EOF || { kill "$pid"; die "preparing the domain failed (see $DIR/log/layout.log)"; }
dn: $BASE_DN
changetype: modify
replace: minPwdAge
minPwdAge: 0
-
replace: pwdHistoryLength
pwdHistoryLength: 0
-

dn: OU=People,$BASE_DN
changetype: add
objectClass: organizationalUnit
ou: People

dn: OU=Groups,$BASE_DN
changetype: add
objectClass: organizationalUnit
ou: Groups

dn: OU=Disabled,$BASE_DN
changetype: add
objectClass: organizationalUnit
ou: Disabled

dn: OU=Contractors,$BASE_DN
changetype: add
objectClass: organizationalUnit
ou: Contractors

dn: CN=all-staff,OU=Groups,$BASE_DN
changetype: add
objectClass: group
sAMAccountName: all-staff
groupType: -2147483646
EOF

  local env="$DIR/env"
  {
    echo "LDAPS_URL=ldaps://127.0.0.1:636"
    echo "BASE_DN=$BASE_DN"
    echo "REALM=$REALM"
    echo "BIND_DN=cn=Administrator,cn=Users,$BASE_DN"
    echo "BIND_PW=$ADMIN_PW"
    echo "CA_FILE=$DIR/tls/ca.pem"
    echo "PID=$pid"
  } >"$env.tmp"
  mv "$env.tmp" "$env"
  cat "$env"
  echo "samba.sh: Samba AD DC ready in $(( SECONDS - t0 ))s (pid $pid)" >&2
}

stop() {
  local pid
  pid=$(recorded_pid "$DIR" || true)
  if pid_alive "$pid"; then
    kill "$pid"
    local deadline=$(( $(date +%s) + STOP_DEADLINE_S ))
    if ! wait_until "$deadline" eval '! pid_alive "$pid"'; then
      echo "samba.sh: pid $pid ignored SIGTERM; killing its process group" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait_until $(( $(date +%s) + STOP_DEADLINE_S )) ports_free \
    || die "ports 389/636 still busy after stopping pid ${pid:-?}"
  rm -f "$DIR/env"
}

[[ $# -eq 2 ]] || usage
DIR=$(realpath -m "$2")
case "$1" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
