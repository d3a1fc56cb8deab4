#!/usr/bin/env bash
# The CUDA path on a GPU machine, in one sitting: the GPU tests, then the sgd suite and the data-size ablation on
# the GPU into a fresh database, with their reports. Needs bench importable and the sgd pairs at ../shared/data/sgd.
#   bash benchmarks/cuda_check.sh OUT_DIR [SECONDS]   (SECONDS: stop starting new work after this long; default 420)
# Both suites are resumable: rerunning with the same OUT_DIR goes on where a cut-off run stopped.
set -uo pipefail
out="${1:?usage: cuda_check.sh OUT_DIR [SECONDS]}"
budget="${2:-420}"
mkdir -p "$out"
db="sqlite:///$out/cuda.db"
export PYTHONUNBUFFERED=1
left() { echo $((budget - SECONDS)); }

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda,
'transformers', transformers.__version__, torch.cuda.get_device_name())" | tee -a "$out/gpu.txt"

if [[ "${CUDA_CHECK_TESTS:-1}" != 0 ]]; then  # CUDA_CHECK_TESTS=0: the suites only
  echo "== GPU tests ($(left) s left)"
  timeout "$(left)" python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tail -15 | tee "$out/tests.txt"
fi

for suite in sgd data-size; do
  echo "== suite $suite on cuda ($(left) s left)"
  ((SECONDS < budget)) || { echo "skipped: out of time"; continue; }
  start=$SECONDS
  timeout "$(left)" python3 -m bench run --suite "$suite" --device cuda --db "$db" --quiet 2>&1 | tail -5
  echo "suite $suite: $((SECONDS - start)) s wall" | tee -a "$out/walltimes.txt"
  python3 -m bench report --suite "$suite" --db "$db" > "$out/report-$suite.txt" 2>&1
  head -40 "$out/report-$suite.txt"
done
