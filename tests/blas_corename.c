/* tests/blas_corename.c: prints the kernel OpenBLAS runs (openblas_get_corename),
 * so the kernel matrix (tests/kernel_env.py) can check a forced
 * OPENBLAS_CORETYPE really took effect. */
#include <stdio.h>

char *openblas_get_corename(void);

int main(void) {
  printf("%s\n", openblas_get_corename());
  return 0;
}
