#!/usr/bin/env bash
# Checks the deployment files in deploy/ with the tools this machine has:
#   systemd  systemd-analyze verify on the units (a temp copy whose ExecStart
#            runs /bin/true, since graphene need not be installed), failing on
#            any warning too
#   k8s      kubectl kustomize deploy/k8s (offline), then a structural check
#            of the rendered objects (selectors, volumes, Secret names)
#   yaml     every deploy/**/*.yaml parses (/usr/bin/python3 + PyYAML)
#   keys     deploy/keys.sh end to end, with the real `graphene keygen` when
#            GRAPHENE (argument 1 or $GRAPHENE) supports it, else with a stub
#   shell    bash -n on the scripts (and shellcheck when installed)
#
#   tests/deploy/check_deploy.sh [GRAPHENE_BINARY]
#
# Exit 0: every check ran and passed. 1: a check failed. 77 (ctest's
# SKIP_RETURN_CODE): nothing failed, but a check was skipped because its tool
# is missing (each SKIP line says which), so CI without kubectl still passes.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
deploy=$root/deploy
graphene=${1:-${GRAPHENE:-}}
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }

have_yaml() { [[ -x $python ]] && "$python" -c 'import yaml' 2>/dev/null; }

# --- systemd ----------------------------------------------------------------
check_systemd() {
  if ! command -v systemd-analyze >/dev/null; then
    skip "systemd: systemd-analyze not installed"; return
  fi
  local units=("$deploy"/systemd/*.service)
  if [[ ! -e ${units[0]} ]]; then fail "systemd: no units in deploy/systemd"; return; fi
  mkdir -p "$work/units"
  local unit
  for unit in "${units[@]}"; do
    sed 's#/usr/local/bin/graphene#/bin/true#g' "$unit" > "$work/units/$(basename "$unit")"
  done
  local output status
  output=$(cd "$work/units" && systemd-analyze verify ./*.service 2>&1); status=$?
  if ((status != 0)) || [[ -n $output ]]; then
    echo "$output"
    fail "systemd: systemd-analyze verify (exit $status, output above)"
    return
  fi
  for unit in "${units[@]}"; do
    grep -q '^LimitCORE=0$' "$unit" || { fail "systemd: $(basename "$unit") lacks LimitCORE=0"; return; }
    grep -q '^ExecStart=/usr/local/bin/graphene \|^ExecStart=/bin/sh -c .exec /usr/local/bin/graphene ' "$unit" \
      || { fail "systemd: $(basename "$unit") does not run /usr/local/bin/graphene"; return; }
  done
  pass "systemd: systemd-analyze verify ${#units[@]} units"
}

# --- Kubernetes -------------------------------------------------------------
check_k8s() {
  if ! command -v kubectl >/dev/null; then
    skip "k8s: kubectl not installed (kubectl kustomize)"; return
  fi
  if ! kubectl kustomize "$deploy/k8s" > "$work/k8s.yaml" 2> "$work/k8s.err"; then
    cat "$work/k8s.err"
    fail "k8s: kubectl kustomize deploy/k8s"; return
  fi
  pass "k8s: kubectl kustomize deploy/k8s"
  if ! have_yaml; then
    skip "k8s-objects: $python with PyYAML not available"; return
  fi
  if "$python" - "$work/k8s.yaml" "$deploy/keys.sh" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
errors = []
kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
for want in [("Namespace", "graphene"), ("Service", "graphene-coordinator"),
             ("StatefulSet", "graphene-coordinator"), ("Deployment", "graphene-agent")]:
    if want not in kinds:
        errors.append(f"missing {want[0]}/{want[1]}")
secrets_used = set()
for d in docs:
    where = f'{d["kind"]}/{d["metadata"]["name"]}'
    for field in ("apiVersion", "kind", "metadata"):
        if field not in d:
            errors.append(f"{where}: no {field}")
    if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "graphene":
        errors.append(f"{where}: not in namespace graphene")
    if d["kind"] not in ("StatefulSet", "Deployment"):
        continue
    spec = d["spec"]
    template = spec["template"]
    labels = template["metadata"].get("labels", {})
    for k, v in spec["selector"]["matchLabels"].items():
        if labels.get(k) != v:
            errors.append(f"{where}: selector {k}={v} does not match the pod labels")
    pod = template["spec"]
    if pod.get("automountServiceAccountToken") is not False:
        errors.append(f"{where}: automountServiceAccountToken should be false")
    volumes = {v["name"] for v in pod.get("volumes", [])}
    volumes |= {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    for v in pod.get("volumes", []):
        if "secret" in v:
            secrets_used.add(v["secret"]["secretName"])
    for c in pod["containers"]:
        if not c.get("resources", {}).get("requests") or not c.get("resources", {}).get("limits"):
            errors.append(f"{where}: container {c['name']} lacks resource requests/limits")
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                errors.append(f"{where}: mount {m['name']} has no volume")
        args = c.get("args", [])
        if args[:1] not in (["coordinator"], ["agent"]):
            errors.append(f"{where}: args should start with coordinator or agent")
        for flag in ("--key", "--coordinator-key", "--authorized-keys", "--db", "--cache"):
            if flag in args:
                path = args[args.index(flag) + 1]
                mounted = any(path.startswith(m["mountPath"].rstrip("/") + "/") or path == m["mountPath"]
                              for m in c.get("volumeMounts", []))
                if not mounted:
                    errors.append(f"{where}: {flag} {path} is on no mounted volume")
    if d["kind"] == "StatefulSet":
        sc = pod.get("securityContext", {})
        if not sc.get("runAsNonRoot"):
            errors.append(f"{where}: coordinator should runAsNonRoot")
        if spec.get("replicas") != 1:
            errors.append(f"{where}: the coordinator must have exactly 1 replica")
expected = {"graphene-coordinator-key", "graphene-authorized-keys", "graphene-agent-key"}
if secrets_used != expected:
    errors.append(f"Secrets used {sorted(secrets_used)} != those deploy/keys.sh creates {sorted(expected)}")
keys_sh = open(sys.argv[2]).read()
for name in expected:
    if name not in keys_sh:
        errors.append(f"deploy/keys.sh does not create Secret {name}")
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY
  then pass "k8s-objects: rendered objects are consistent"
  else fail "k8s-objects: rendered objects (problems above)"
  fi
}

# --- YAML -------------------------------------------------------------------
check_yaml() {
  if ! have_yaml; then
    skip "yaml: $python with PyYAML not available"; return
  fi
  local files
  mapfile -t files < <(find "$deploy" -name '*.yaml' -o -name '*.yml' | sort)
  if ((${#files[@]} == 0)); then fail "yaml: no manifests found"; return; fi
  if "$python" - "${files[@]}" <<'PY'
import sys, yaml
bad = 0
for path in sys.argv[1:]:
    try:
        docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        if not docs:
            raise ValueError("no documents")
        for d in docs:
            if not isinstance(d, dict) or "apiVersion" not in d or "kind" not in d:
                raise ValueError("a document lacks apiVersion/kind")
    except Exception as e:
        print(f"  {path}: {e}")
        bad += 1
sys.exit(1 if bad else 0)
PY
  then pass "yaml: ${#files[@]} files parse"
  else fail "yaml: some files do not parse (above)"
  fi
}

# --- keys.sh ----------------------------------------------------------------
check_keys() {
  local bin=$graphene how="graphene keygen"
  if [[ -z $bin ]] || ! "$bin" keygen --help >/dev/null 2>&1; then
    how="a stub keygen (no graphene with keygen given)"
    bin=$work/graphene-stub
    cat > "$bin" <<'STUB'
#!/bin/sh
[ "$1" = keygen ] || exit 2
name=$2; dir=.; force=0; shift 2
while [ $# -gt 0 ]; do
  case $1 in --dir) dir=$2; shift 2 ;; --force) force=1; shift ;; *) exit 2 ;; esac
done
mkdir -p "$dir"
[ $force = 1 ] || [ ! -e "$dir/$name.key" ] || { echo "$dir/$name.key exists" >&2; exit 2; }
(umask 077; printf 'public-key = %s\nsecret-key = %s\n' "$name" "$name" > "$dir/$name.key")
printf '%s\n' "$name" > "$dir/$name.pub"
STUB
    chmod +x "$bin"
  fi
  local out=$work/keys
  if ! bash "$deploy/keys.sh" --out "$out" --graphene "$bin" --agents 2 --clients 1 ci --kubectl \
      > "$work/keys.log" 2>&1; then
    cat "$work/keys.log"; fail "keys: deploy/keys.sh with $how"; return
  fi
  local f problems=()
  for f in coordinator.key coordinator.pub agent-1.key agent-2.key client-1.key ci.key \
           authorized/agent-1.pub authorized/agent-2.pub authorized/client-1.pub authorized/ci.pub; do
    [[ -s $out/$f ]] || problems+=("missing $f")
  done
  [[ -e $out/authorized/coordinator.pub ]] && problems+=("the coordinator's own key is authorized")
  compgen -G "$out/authorized/*.key" >/dev/null && problems+=("a secret key is in authorized/")
  for f in "$out"/*.key; do
    [[ $(stat -c %a "$f") == 600 ]] || problems+=("$(basename "$f") is not 0600")
  done
  grep -q 'kubectl -n graphene create secret generic graphene-agent-key' "$work/keys.log" \
    || problems+=("no kubectl commands printed")
  if bash "$deploy/keys.sh" --out "$out" --graphene "$bin" >/dev/null 2>&1; then
    problems+=("a second run overwrote keys without --force")
  fi
  if ((${#problems[@]})); then
    printf '  %s\n' "${problems[@]}"; fail "keys: deploy/keys.sh with $how"
  else
    pass "keys: deploy/keys.sh with $how"
  fi
}

# --- shell scripts ----------------------------------------------------------
check_shell() {
  local scripts=("$deploy/keys.sh" "$0") s
  for s in "${scripts[@]}"; do
    bash -n "$s" || { fail "shell: bash -n $s"; return; }
  done
  if command -v shellcheck >/dev/null; then
    shellcheck "${scripts[@]}" || { fail "shell: shellcheck"; return; }
    pass "shell: bash -n and shellcheck"
  else
    pass "shell: bash -n (shellcheck not installed)"
  fi
}

check_systemd
check_k8s
check_yaml
check_keys
check_shell

echo "check_deploy: $passed passed, $failed failed, $skipped skipped"
if ((failed)); then exit 1; fi
if ((skipped)); then echo "check_deploy: skipped checks (tools missing here), the rest passed"; exit 77; fi
exit 0
