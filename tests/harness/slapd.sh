#!/usr/bin/env bash
# A throwaway OpenLDAP server on 127.0.0.1 for tests and the demo.
#
#   slapd.sh start DIR PORT [LDAPS_PORT]   configure, seed and start; prints KEY=VALUE lines
#                                          (also written to DIR/env)
#   slapd.sh stop DIR                      stop the server started in DIR and wait until it is gone
#   slapd.sh free-port                     print a currently free TCP port on 127.0.0.1
#
# Environment (optional):
#   SLAPD_CERT_NAMES   subjectAltName of the server certificate (default IP:127.0.0.1,DNS:localhost)
#   SLAPD_START_TIMEOUT seconds to wait for the server to answer (default 15)
#   SLAPD_DURABLE=1    fsync every write like a production server (benchmarks; default: dbnosync)
#   SLAPD_BIG_GROUPS=1 the settings of a site with big groups: sorted member values and member
#                      values stored apart from the entry (sortvals, mdb multival)
#   SLAPD_HASH_CLEARTEXT=0  store a cleartext userPassword as sent, as a server without
#                      ppolicy_hash_cleartext does (default 1: ppolicy hashes it)
#   SLAPD_CHECK_QUALITY=2  the password policy checks every new password's quality strictly
#                      (pwdCheckQuality 2): a password the server cannot check — a hash — is refused
#   SLAPD_TLS_PRIORITY GnuTLS priority string for the server's TLS (TLSCipherSuite), e.g.
#                      NORMAL:-VERS-ALL:+VERS-TLS1.1 for a server that speaks nothing newer
#   SLAPD_SUFFIX       the base DN, dc=... components only (default dc=example,dc=com); a second
#                      server with another suffix is a second, distinct directory
#
# The server listens on 127.0.0.1 only, keeps its data in DIR/db with dbnosync (fast, not
# durable: test data only) and never touches the system slapd's configuration or port 389.
set -euo pipefail

SUFFIX="${SLAPD_SUFFIX:-dc=example,dc=com}"
SUFFIX_DC="${SUFFIX%%,*}"
SUFFIX_DC="${SUFFIX_DC#dc=}"
ROOT_DN="cn=admin,${SUFFIX}"
BIND_DN="cn=provisiond,ou=services,${SUFFIX}"
READER_DN="cn=reader,ou=services,${SUFFIX}"
SCHEMA_DIR=/etc/ldap/schema
MODULE_DIR=/usr/lib/ldap
SLAPD=${SLAPD:-/usr/sbin/slapd}
SLAPADD=${SLAPADD:-/usr/sbin/slapadd}
SLAPPASSWD=${SLAPPASSWD:-/usr/sbin/slappasswd}

die() {
  echo "slapd.sh: $*" >&2
  exit 1
}

# Debian's interpreter directly: a version-manager shim on PATH can cost most of a second.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

free_port() {
  "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# True when something already accepts connections on 127.0.0.1:PORT.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

secret() { openssl rand -hex 16; }

make_cert() {
  local dir=$1 names=${SLAPD_CERT_NAMES:-IP:127.0.0.1,DNS:localhost}
  # EC keys: generated in milliseconds, unlike RSA; GnuTLS and OpenSSL both accept them.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=provisiond test slapd" -addext "subjectAltName=${names}" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
    die "openssl could not create the test certificate"
  chmod 600 "$dir/key.pem"
  cp "$dir/cert.pem" "$dir/ca.pem"
}

write_conf() {
  local dir=$1 root_hash=$2 sync=dbnosync global_extra="" db_extra=""
  local hash_cleartext=ppolicy_hash_cleartext tls_priority=""
  [[ ${SLAPD_DURABLE:-0} == 1 ]] && sync="# fsync on commit (SLAPD_DURABLE=1)"
  [[ ${SLAPD_HASH_CLEARTEXT:-1} == 0 ]] && hash_cleartext="# cleartext passwords stored as sent"
  [[ -n ${SLAPD_TLS_PRIORITY:-} ]] && tls_priority="TLSCipherSuite ${SLAPD_TLS_PRIORITY}"
  if [[ ${SLAPD_BIG_GROUPS:-0} == 1 ]]; then
    global_extra="sortvals member uniqueMember"
    db_extra="multival member,uniqueMember 100,10"
  fi
  cat >"$dir/slapd.conf" <<EOF
include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/inetorgperson.schema
include ${SCHEMA_DIR}/nis.schema

modulepath ${MODULE_DIR}
moduleload back_mdb
moduleload ppolicy

pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
loglevel none
sizelimit 500
${global_extra}

TLSCertificateFile ${dir}/cert.pem
TLSCertificateKeyFile ${dir}/key.pem
TLSCACertificateFile ${dir}/ca.pem
${tls_priority}

database mdb
maxsize 8589934592
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${root_hash}
directory ${dir}/db
${sync}
${db_extra}
index objectClass,uid,cn,mail,employeeNumber,entryUUID,member eq
# Like a production server: at most 500 entries per plain search for ordinary binds; paged
# searches (pages of at most 500) may walk the whole tree.
limits users size.soft=500 size.hard=500 size.pr=500 size.prtotal=unlimited

overlay ppolicy
ppolicy_default "cn=default,ou=policies,${SUFFIX}"
${hash_cleartext}

# The provisioning service account writes everything (so tests need not use the rootdn); the
# reader reads everything but passwords (a non-root bind: size limit 500, paged searches).
access to attrs=userPassword
  by dn.exact="${BIND_DN}" write
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="${BIND_DN}" write
  by dn.exact="${READER_DN}" read
  by self read
  by * none
EOF
}

write_seed() {
  local dir=$1 bind_hash=$2 reader_hash=$3
  cat >"$dir/seed.ldif" <<EOF
dn: ${SUFFIX}
objectClass: top
objectClass: dcObject
objectClass: organization
dc: ${SUFFIX_DC}
o: Example

dn: ou=people,${SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ou=contractors,${SUFFIX}
objectClass: organizationalUnit
ou: contractors

dn: ou=disabled,${SUFFIX}
objectClass: organizationalUnit
ou: disabled

dn: ou=services,${SUFFIX}
objectClass: organizationalUnit
ou: services

dn: ou=policies,${SUFFIX}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,${SUFFIX}
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0
pwdCheckQuality: ${SLAPD_CHECK_QUALITY:-0}

dn: ${BIND_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: provisiond
description: provisioning service account
userPassword: ${bind_hash}

dn: ${READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
description: read-only account
userPassword: ${reader_hash}
EOF
}

wait_until_answers() {
  local port=$1 timeout=${SLAPD_START_TIMEOUT:-15}
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if ldapsearch -x -LLL -H "ldap://127.0.0.1:${port}/" -b "" -s base -o nettimeout=2 \
      namingContexts >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

cmd_start() {
  local dir=${1:-} port=${2:-} ldaps_port=${3:-}
  [[ -n $dir && -n $port ]] || die "usage: slapd.sh start DIR PORT [LDAPS_PORT]"
  [[ -n $ldaps_port ]] || ldaps_port=$(free_port)
  port_busy "$port" && die "port $port is busy"
  port_busy "$ldaps_port" && die "port $ldaps_port is busy"
  [[ -e $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && die "a slapd already runs in $dir"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  rm -rf "$dir/db"
  mkdir -p "$dir/db"

  local root_pw bind_pw reader_pw
  root_pw=$(secret)
  bind_pw=$(secret)
  reader_pw=$(secret)
  make_cert "$dir"
  write_conf "$dir" "$("$SLAPPASSWD" -s "$root_pw")"
  write_seed "$dir" "$("$SLAPPASSWD" -s "$bind_pw")" "$("$SLAPPASSWD" -s "$reader_pw")"
  "$SLAPADD" -q -f "$dir/slapd.conf" -l "$dir/seed.ldif" >"$dir/slapadd.log" 2>&1 ||
    die "slapadd failed: $(cat "$dir/slapadd.log")"

  local url="ldap://127.0.0.1:${port}" ldaps_url="ldaps://127.0.0.1:${ldaps_port}"
  "$SLAPD" -f "$dir/slapd.conf" -h "${url}/ ${ldaps_url}/" >"$dir/slapd.log" 2>&1 ||
    die "slapd did not start: $(cat "$dir/slapd.log")"
  # slapd forks; its pid file appears once it is up. Keep our own copy: slapd deletes its pid
  # file on exit, and stop must still know whom to wait for.
  local deadline=$((SECONDS + 10))
  while [[ ! -s $dir/slapd.pid ]] && ((SECONDS < deadline)); do sleep 0.02; done
  [[ -s $dir/slapd.pid ]] || die "slapd wrote no pid file"
  cp "$dir/slapd.pid" "$dir/pid"
  if ! wait_until_answers "$port"; then
    cmd_stop "$dir" >/dev/null 2>&1 || true
    die "slapd on port $port did not answer in time"
  fi

  {
    echo "URL=${url}"
    echo "LDAPS_URL=${ldaps_url}"
    echo "BASE_DN=${SUFFIX}"
    echo "ROOT_DN=${ROOT_DN}"
    echo "ROOT_PW=${root_pw}"
    echo "BIND_DN=${BIND_DN}"
    echo "BIND_PW=${bind_pw}"
    echo "READER_DN=${READER_DN}"
    echo "READER_PW=${reader_pw}"
    echo "CA_FILE=${dir}/ca.pem"
    echo "PID=$(cat "$dir/pid")"
    echo "DIR=${dir}"
  } >"$dir/env.tmp"
  chmod 600 "$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  cat "$dir/env"
}

cmd_stop() {
  local dir=${1:-}
  [[ -n $dir ]] || die "usage: slapd.sh stop DIR"
  local pid=""
  if [[ -s $dir/pid ]]; then
    pid=$(cat "$dir/pid")
  elif [[ -s $dir/slapd.pid ]]; then
    pid=$(cat "$dir/slapd.pid")
  fi
  [[ -n $pid ]] || return 0
  # Only signal the process if it is still the slapd we started (pids get reused).
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$dir/slapd.conf"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.02; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.02; done
    fi
  fi
  rm -f "$dir/pid"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  free-port) free_port ;;
  *) die "usage: slapd.sh start DIR PORT [LDAPS_PORT] | stop DIR | free-port" ;;
esac
