# Shared settings for the project's scripts (sourced, not run).
# One cargo target directory outside the clone, reused by every run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/user-sync/target}"
# Dummy credentials and a region for the local AWS emulator; the functions
# read endpoints from AWS_ENDPOINT_URL, never from a "local" flag.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
