#!/bin/bash
cd "$(dirname "$0")"
R=${OUT:-/tmp/out}; T=${HARD:-200}
S="--data shapes --dir . --batch 128 --lr 0.1 --wd 2e-4 --epochs ${EP:-20} --budget ${BUDGET:-110} --eval-n 100"
run() { name=$1; shift; timeout $T python3 art_sweep.py "$@" --out $R/$name.json > $R/$name.log 2>&1 & }
run s-natural $S --method natural
run s-pgd $S --method pgd
run s-art-l0.5 $S --method art --lam 0.5
run s-art-l4 $S --method art --lam 4
wait
