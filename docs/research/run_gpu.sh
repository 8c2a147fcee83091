#!/bin/bash
# One device call: every configuration as its own process on the one GPU.
cd "$(dirname "$0")"
R=${OUT:-/tmp/out}/r; mkdir -p $R
nvidia-smi --query-gpu=name,memory.total --format=csv > $R/gpu.txt 2>&1
B=${BUDGET:-250}; T=${HARD:-530}
S="--data shapes --dir . --batch 128 --lr 0.1 --wd 2e-4 --epochs 40 --budget $B --eval-n 200"
M="--data mnist --dir . --batch 128 --lr 0.05 --wd 1e-4 --epochs 15 --budget $B --eval-n 200 --eps 0.3 --art-step 0.1 --k 200 --pgd-step 0.01 --pgd-steps 40 --pgd-eval-steps 40 --ifia-eps 0.3 --ifia-step 0.01 --ifia-steps 100 --ifia-attack-k 200"
run() { name=$1; shift; timeout $T python3 art_sweep.py "$@" --out $R/$name.json > $R/$name.log 2>&1 & }
run s-natural $S --method natural
run s-pgd $S --method pgd
run s-art-l0.5 $S --method art --lam 0.5
run s-art-l2 $S --method art --lam 2
run s-art-l8 $S --method art --lam 8
run s-art-l32 $S --method art --lam 32
run s-artproj-l0.5 $S --method art --objective proj --lam 0.5
run m-natural $M --method natural
run m-pgd $M --method pgd
run m-art-l0.5 $M --method art --lam 0.5
run m-art-l8 $M --method art --lam 8
run m-art-l32 $M --method art --lam 32
wait
tar czf ${OUT:-/tmp/out}/results.tgz -C ${OUT:-/tmp/out} r
