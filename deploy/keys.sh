#!/usr/bin/env bash
# Generates the CurveZMQ key pairs of a graphene farm with `graphene keygen`:
# the coordinator's, and one per agent and client, and assembles the folder of
# authorized public keys that the coordinator reads (--authorized-keys DIR).
#
#   deploy/keys.sh [--out DIR] [--graphene BIN] [--agents N] [--clients N]
#                  [--force] [--kubectl [NAMESPACE]] [NAME...]
#
#   --out DIR       where to write (default ./graphene-keys)
#   --graphene BIN  the graphene binary (default: graphene on PATH)
#   --agents N      agent-1 ... agent-N        (default 1)
#   --clients N     client-1 ... client-N      (default 1)
#   NAME...         more named key pairs (e.g. ci alice), authorized like the rest
#   --force         overwrite existing key files
#   --kubectl [NS]  also print the `kubectl create secret` commands (namespace
#                   NS, default graphene) for deploy/k8s
#
# Result:
#   DIR/coordinator.key   secret: the coordinator host only (/etc/graphene/keys/)
#   DIR/coordinator.pub   to every agent and client (--coordinator-key)
#   DIR/NAME.key          secret: NAME's machine only (--key)
#   DIR/NAME.pub          public
#   DIR/authorized/*.pub  to the coordinator (/etc/graphene/keys/authorized/)
#
# Generating every key in one place is a convenience for a first farm. Better:
# run `graphene keygen NAME` on each machine, so that no secret key ever
# travels, and copy only the .pub files.
set -euo pipefail

out=./graphene-keys
graphene=graphene
agents=1
clients=1
force=()
kubectl_ns=""
names=()

die() { echo "keys.sh: $*" >&2; exit 2; }

while (($#)); do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --graphene) graphene=${2:?--graphene needs a path}; shift 2 ;;
    --agents) agents=${2:?--agents needs a number}; shift 2 ;;
    --clients) clients=${2:?--clients needs a number}; shift 2 ;;
    --force) force=(--force); shift ;;
    --kubectl)
      kubectl_ns=graphene
      if [[ $# -gt 1 && $2 != -* ]]; then kubectl_ns=$2; shift; fi
      shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) names+=("$1"); shift ;;
  esac
done

[[ $agents =~ ^[0-9]+$ ]] || die "--agents: not a number: $agents"
[[ $clients =~ ^[0-9]+$ ]] || die "--clients: not a number: $clients"
command -v "$graphene" >/dev/null || die "graphene binary not found: $graphene (use --graphene BIN)"

for ((i = 1; i <= agents; i++)); do names+=("agent-$i"); done
for ((i = 1; i <= clients; i++)); do names+=("client-$i"); done
for name in "${names[@]}"; do
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad key name: $name"
  [[ $name != coordinator ]] || die "the name coordinator is reserved"
done

mkdir -p "$out" && chmod 0700 "$out"
mkdir -p "$out/authorized"

"$graphene" keygen coordinator --dir "$out" "${force[@]}"
for name in "${names[@]}"; do
  "$graphene" keygen "$name" --dir "$out" "${force[@]}"
done

# The coordinator's folder of authorized keys: every agent's and client's .pub.
for name in "${names[@]}"; do
  install -m 0644 "$out/$name.pub" "$out/authorized/$name.pub"
done
chmod 0755 "$out/authorized"

for file in "$out/coordinator.key" "$out/coordinator.pub" "$out/authorized"; do
  [[ -e $file ]] || die "expected $file after graphene keygen"
done

echo "keys.sh: wrote $out: coordinator + ${#names[@]} key pairs (${names[*]})"
echo "  coordinator host: $out/coordinator.key -> /etc/graphene/keys/ (owner graphene, 0600)"
echo "                    $out/authorized/     -> /etc/graphene/keys/authorized/"
echo "  every agent:      its NAME.key -> /etc/graphene/keys/agent.key (root, 0600), and coordinator.pub"
echo "  every client:     its NAME.key and coordinator.pub (--key, --coordinator-key)"

if [[ -n $kubectl_ns ]]; then
  agent_key=""
  for name in "${names[@]}"; do
    if [[ $name == agent-* ]]; then agent_key=$out/$name.key; break; fi
  done
  [[ -n $agent_key ]] || die "--kubectl needs at least one agent key (--agents 1)"
  cat <<KUBECTL

# Kubernetes (namespace $kubectl_ns): create the namespace first
# (kubectl apply -f deploy/k8s/namespace.yaml), then the three Secrets that
# deploy/k8s expects. All agent replicas share $(basename "$agent_key").
kubectl -n $kubectl_ns create secret generic graphene-coordinator-key \\
  --from-file=coordinator.key=$out/coordinator.key \\
  --from-file=coordinator.pub=$out/coordinator.pub
kubectl -n $kubectl_ns create secret generic graphene-authorized-keys \\
  --from-file=$out/authorized/
kubectl -n $kubectl_ns create secret generic graphene-agent-key \\
  --from-file=agent.key=$agent_key \\
  --from-file=coordinator.pub=$out/coordinator.pub
# After adding a key to $out/authorized/, replace the Secret and restart:
#   kubectl -n $kubectl_ns create secret generic graphene-authorized-keys \\
#     --from-file=$out/authorized/ --dry-run=client -o yaml | kubectl apply -f -
#   kubectl -n $kubectl_ns rollout restart statefulset/graphene-coordinator
KUBECTL
fi
