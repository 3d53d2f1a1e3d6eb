#!/usr/bin/env bash
# The CUDA run on the lent GPU host, in device calls made back to back (the host forgets /tmp
# about 30 s after a call; each call takes at most 64 MiB of files). Prepared here with
# bench/gpu/bundle.sh, ../shared/gpu/pack-for-device.sh and ../shared/gpu/pack-cuda-ep.sh.
#
#   part 1   carry [.device-cuda/p1, .gpubundle]: CUDA EP part 1, and starts the PyTorch side
#            (torch_reference.py: full-width export + PyTorch timings, 5-10 min on 16 cores) in
#            the background, from a copy of the tree in /tmp/zsrc
#   part N   carry [.device-cuda/pN] (N = 2..4): the other parts; prints the PyTorch side's log
#   run      carry [.device, .gpubundle]: Node + ORT + CUDA EP, then cuda-bench.ts in the
#            background from /tmp/zrepo; waits up to WAIT_S (default 560) and returns $OUT
#   collect  no carry: waits again up to WAIT_S, returns $OUT (when `run` ran out of time)
#
# $OUT gets at most 8 files: results.json, table.md, torch.json, bench.log, prep.log.
#
# The device tool sends the session's main checkout, not a helper's worktree: then the packs and
# a copy of this tree travel as carried folders of it, and PARTS, BUNDLE and DEVICE say where
# (relative to the copy of this tree the script runs from). Second H200 run (2026-12-01, results
# in bench/gpu/results/h200-2026-12-01-2), with tmp/gpu-helper/ in the main checkout (ignored
# there) holding cuda/p1..p4 (../shared/gpu/pack-cuda-ep.sh), dev (= .device,
# ../shared/gpu/pack-for-device.sh), pybundle (bundle.sh's pyx.tar.xz), bundle (its
# node_modules.tar.xz) and repo (this tree without test/fixtures, node_modules, .git):
#   cd tmp/gpu-helper/repo && LAYERS=6 PARTS=../cuda BUNDLE=../pybundle bash bench/gpu/device-cuda.sh part 1
#       carry [tmp/gpu-helper/cuda/p1, tmp/gpu-helper/pybundle, tmp/gpu-helper/repo]
#   ... PARTS=../cuda ... part 2, 3, 4   carry [tmp/gpu-helper/cuda/pN, tmp/gpu-helper/repo]
#   ... LAYERS=6 WAIT_S=540 BUNDLE=../bundle DEVICE=../dev ... run
#       carry [tmp/gpu-helper/dev, tmp/gpu-helper/bundle, tmp/gpu-helper/repo], timeout 600
#   ... WAIT_S=540 ... collect   carry [tmp/gpu-helper/repo]   (only when `run` ran out of time)
# then a second, shorter sequence (the same four parts and part 1's prep, then a run limited with
# PHASES=transformer,http,card16 TCONFIGS=cudnn ONLY='^(bf16 cudnn none|bf16 cudnn none, fused
# graph|fp16 cudnn none, fused graph|squeeze 3072 bf16 cudnn none)$'), after the first one showed
# a bf16 graph rewrite without a CUDA kernel and the out-of-memory path stuck at 500.
# (The first run, 2026-12-01, had p1..p4 directly in tmp/gpu-helper and one bundle folder.)
# Third run (results/h200-2026-12-01-3, its README has the commands): the same four parts and
# one run with LAYERS=6 PHASES=transformer,http,card16 TCONFIGS=cudnn and an ONLY= list, after
# the exporter began writing the rewritten graph; 403 s of device time in all.
# Each call must start within 30 s of the last one's end, or the next finds a bare machine.
set -uo pipefail
parts=${PARTS:-.device-cuda}
bundle=${BUNDLE:-.gpubundle}
device=${DEVICE:-.device}
layers=${LAYERS:-8}
wait_s=${WAIT_S:-560}
out=${OUT:-/tmp/zout}
mkdir -p "$out"

collect() {
  local start=$SECONDS
  while [ $((SECONDS - start)) -lt "$wait_s" ] && ! [ -e /tmp/zresults/finished ]; do
    sleep 5
  done
  cp /tmp/zresults/results.json /tmp/zresults/table.md /tmp/zbench/torch.json "$out/" 2>/dev/null
  tail -c 4000000 /tmp/zresults/bench.log > "$out/bench.log" 2>/dev/null
  tail -c 2000000 /tmp/zbench.log > "$out/prep.log" 2>/dev/null
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>/dev/null
  [ -e /tmp/zresults/finished ] && echo "BENCH FINISHED" || echo "BENCH STILL RUNNING"
  tail -n 60 /tmp/zresults/bench.log 2>/dev/null
}

case "${1:-}" in
part)
  n=$2
  mkdir -p /tmp/zcuda && cp "$parts"/p"$n"/* /tmp/zcuda/ && ls -la /tmp/zcuda
  if [ "$n" = 1 ]; then
    mkdir -p /tmp/pyx /tmp/zsrc/bench /tmp/zsrc/tools && tar -C /tmp/pyx -xJf "$bundle"/pyx.tar.xz
    cp -r bench/gpu /tmp/zsrc/bench/ && cp -r tools/export /tmp/zsrc/tools/
    nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv
    df -h /tmp | tail -1
    setsid bash -c "cd /tmp/zsrc && PYTHONPATH=/tmp/pyx PYTHONUNBUFFERED=1 python3 \
      bench/gpu/torch_reference.py --out /tmp/zbench --layers $layers > /tmp/zbench.log 2>&1" \
      > /dev/null 2>&1 < /dev/null &
    sleep 20
  fi
  free -g | head -2
  ls /tmp/zbench/status 2>/dev/null; cat /tmp/zbench/status/*.json 2>/dev/null | head -c 3000; echo
  tail -n 40 /tmp/zbench.log
  ;;
run)
  bash "$device"/unpack.sh >/dev/null 2>&1 || { echo "unpack .device failed"; exit 1; }
  . /tmp/zdev/env
  bash /tmp/zcuda/unpack-cuda.sh || exit 1
  . /tmp/zdev/cuda-env
  rm -rf /tmp/zrepo && mkdir -p /tmp/zrepo /tmp/zresults && rm -f /tmp/zresults/finished
  tar --exclude=./.device --exclude=./.device-cuda --exclude=./.gpubundle --exclude=./node_modules \
    --exclude=./.git -cf - . | tar -C /tmp/zrepo -xf -
  tar -C /tmp/zrepo -xJf "$bundle"/node_modules.tar.xz
  ln -sfn /tmp/zdev/node_modules/onnxruntime-node /tmp/zrepo/node_modules/onnxruntime-node
  ln -sfn /tmp/zdev/node_modules/onnxruntime-common /tmp/zrepo/node_modules/onnxruntime-common
  node --version
  # A new session (setsid) outlives this call; the tree copy in /tmp/zrepo outlives the next.
  setsid bash -c "cd /tmp/zrepo && node bench/gpu/cuda-bench.ts --prep /tmp/zbench --phases ${PHASES:-kernels,transformer,http,card16} ${ONLY:+--only '$ONLY'} ${TCONFIGS:+--transformer-configs $TCONFIGS} \
    --out /tmp/zresults --layers $layers > /tmp/zresults/bench.log 2>&1; touch /tmp/zresults/finished" \
    > /dev/null 2>&1 < /dev/null &
  sleep 2
  tail -n 20 /tmp/zbench.log
  collect
  ;;
collect) collect ;;
*) echo "usage: $0 part N | run | collect" >&2; exit 2 ;;
esac
