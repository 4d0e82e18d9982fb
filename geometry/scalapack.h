/* geometry/scalapack.h: the BLACS and ScaLAPACK routines alq calls.
 *
 * Debian's libscalapack-openmpi ships no C header, so the prototypes are
 * declared here, once.  The Fortran routines (trailing underscore) take every
 * argument by pointer, integers as 32-bit int, and matrices in column-major
 * order; the C BLACS entry points (Cblacs_*) take values.
 *
 * A descriptor (desc[9], ScaLAPACK's "DESC_") describes a distributed matrix:
 * {dtype = 1, context, global rows M, global columns N, row block MB, column
 * block NB, first process row, first process column, local leading dimension}.
 * A process that is not in a grid passes a descriptor whose context is -1.
 */
#ifndef ALQ_GEOMETRY_SCALAPACK_H
#define ALQ_GEOMETRY_SCALAPACK_H
#include <mpi.h>

/* A BLACS system handle for an MPI communicator (the base of a context). */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
/* Turns *context (a system handle on entry) into a nprow x npcol grid over the
 * first nprow * npcol processes of the handle, order "R" (row-major) or "C".
 * Processes left out get a context of -1. */
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int context);
/* Cblacs_exit is not called: after it BLACS may not be used again in the
 * process, and a process may fit more than once (select --project in a
 * program that runs several selections).  Each fit frees its grids
 * (Cblacs_gridexit) and handles (Cfree_blacs_system_handle); MPI_Finalize,
 * called by alq's main, ends the rest. */

/* Rows (or columns) of a block-cyclic dimension stored on process iproc. */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);

/* B(ib:, jb:) = A(ia:, ja:) for an m x n submatrix, between any two
 * distributions; ictxt must contain every process of both grids. */
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja, const int *desca,
               double *b, const int *ib, const int *jb, const int *descb, const int *ictxt);

/* Every eigenvalue (ascending, in w on every grid process) and eigenvector (in
 * z) of the symmetric matrix A by divide and conquer; A is destroyed.
 * lwork = liwork = -1 queries the workspace. */
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz,
              double *work, const int *lwork, int *iwork, const int *liwork, int *info);

/* Cholesky factor of a symmetric positive definite matrix, in place;
 * info > 0: the leading minor of that order is not positive definite. */
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca, int *info);
/* Inverse of a triangular matrix, in place. */
void pdtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, int *info);
/* C = alpha A A^T + beta C (trans "N") or alpha A^T A + beta C (trans "T"), the uplo triangle. */
void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha, const double *a,
             const int *ia, const int *ja, const int *desca, const double *beta, double *c, const int *ic,
             const int *jc, const int *descc);

#endif
