#!/usr/bin/env bash
# Make sure the Fashion-MNIST IDX files can be found. When they cannot, install Debian's
# dataset-fashion-mnist package where apt-get is usable: as root, or through passwordless sudo.
set -euo pipefail
python=${1:-python3}

if folder=$("$python" -m fmnist.sources 2>/dev/null); then
  echo "Fashion-MNIST found in $folder"
  exit 0
fi

as_root=""
if [ "$(id -u)" -eq 0 ]; then
  as_root="env"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
fi

if command -v apt-get >/dev/null 2>&1 && [ -n "$as_root" ]; then
  echo "Installing Debian's package dataset-fashion-mnist ..."
  $as_root apt-get update -q
  $as_root apt-get install -y -q dataset-fashion-mnist
  echo "Fashion-MNIST found in $("$python" -m fmnist.sources)"
  exit 0
fi

"$python" -m fmnist.sources || true
cat >&2 <<'HELP'
Could not install the data set here: that needs apt-get and root or passwordless sudo.
Do one of these, then run the command again:
  sudo apt-get install dataset-fashion-mnist       # Debian or Ubuntu
  copy the four IDX files (.gz or not) into data/   # a copy you already have
  python src/fmnist/train.py data.download=true     # torchvision downloads them
HELP
exit 1
