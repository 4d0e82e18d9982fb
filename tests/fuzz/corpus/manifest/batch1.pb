
select0.1.0ßšÁØ"vm0B8
pool0/work/main/tests/fuzz/corpus/pool_inspect/gen.h5B
strategymarginB
budget2B

candidates2B

chunk-rows209712B	
seed0B
pruneyesB
	diversitynoneB
fan-in8B
memory-per-rank0B
subpoolallB 
labeled(the pool's /labeled)B"
state/tmp/tmp_dvkng5e/state.h5B
out/tmp/tmp_dvkng5e/b1.h5B
csv(none)JA
0/work/main/tests/fuzz/corpus/pool_inspect/gen.h5 )mèK´ÚîR
read5ZÙ?5ZÙ? R
score áz(¤Á> áz(¤Á>R

retrieveR
selectR
reduceà£0"cKÕ>à£0"cKÕ>Xaë6ˆÍSp