#!/bin/sh
# What the RouteIQ container runs: the LiteLLM proxy with RouteIQ routing, the decision log
# and the dashboard at /routeiq/ui/. Every setting is an environment variable (docs/settings.md);
# these are the ones this script reads itself, with their defaults:
#   ROUTEIQ_LITELLM_CONFIG  /etc/routeiq/litellm.yaml   the proxy's config (and its routeiq: section)
#   PORT                    4000
#   HOST                    0.0.0.0
#   WORKERS                 1                           proxy worker processes
set -eu
config="${ROUTEIQ_LITELLM_CONFIG:-/etc/routeiq/litellm.yaml}"
export ROUTEIQ_LITELLM_CONFIG="$config"
export LITELLM_LOCAL_MODEL_COST_MAP="${LITELLM_LOCAL_MODEL_COST_MAP:-True}"  # no cost-map download at start
exec litellm --config "$config" --host "${HOST:-0.0.0.0}" --port "${PORT:-4000}" \
    --num_workers "${WORKERS:-1}" --timeout_worker_healthcheck 120
