# Sourced by the scripts that train (run_experiment.sh, train-gpu.sh): as models/README.md
# "Training" says, one BLAS thread per libtorch thread, and tcmalloc where it is installed
# (libtorch spends half its CPU time allocating otherwise).
export OPENBLAS_NUM_THREADS=1
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ -e "$tcmalloc" ]; then export LD_PRELOAD="$tcmalloc"; fi
