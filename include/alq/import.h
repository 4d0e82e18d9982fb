/* alq/import.h: `alq import` and `alq import-idx` as calls: a labeled CSV
 * (plain or gzip), or idx files (MNIST, Fashion-MNIST), into a pool file.
 *
 * The CSV rules (docs/format.md, "Importing CSV"): a header line, then one
 * item per line, numeric features (finite float32 values), an integer label
 * 0..K-1 (K <= 10^6) in the last column; blank lines are skipped.  The pool
 * gets /embeddings [N][d] (the features), /labels int32 [N], the root
 * attribute classes = max label + 1 and, with n_labeled > 0, a stratified
 * labeled set (alq_labeled_draw_stratified).  Serial; the whole table is
 * held in memory, about N * (4 d + 4) bytes.  `alq import` and
 * `alq import-idx` are thin CLIs over this module.
 */
#ifndef ALQ_IMPORT_H
#define ALQ_IMPORT_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h"

typedef struct {
  char csv[ALQ_PATH_MAX]; /* the CSV, .gz or plain */
  char out[ALQ_PATH_MAX]; /* the pool, written atomically */
  int standardize;        /* z-score each feature (population std; a constant column becomes 0) */
  int float16;            /* store /embeddings as float16 instead of float32 */
  int64_t n_labeled;      /* initial labeled set size, stratified by class (0: none) */
  uint64_t seed;          /* seed of the labeled draw */
} alq_import_options;

/* What an import wrote. */
typedef struct {
  int64_t rows, features, classes, labeled;
} alq_import_result;

/* Reads o->csv and writes the pool o->out.  Any violation of the rules is an
 * input error, one line naming the file, line, column (number and header
 * name) and the offending text; nothing is written then. */
alq_err alq_import_csv(const alq_import_options *o, alq_import_result *result);

typedef struct {
  char images[ALQ_PATH_MAX]; /* idx3 images [N][rows][cols], uint8, .gz or plain */
  char labels[ALQ_PATH_MAX]; /* idx1 labels [N], uint8, .gz or plain */
  char out[ALQ_PATH_MAX];    /* the pool, written atomically */
  int64_t limit;             /* keep the first `limit` images (0: all) */
  int64_t n_labeled;         /* initial labeled set size, stratified by class (0: none) */
  int standardize;           /* z-score each pixel column (population std; a constant column becomes 0) */
  uint64_t seed;             /* seed of the labeled draw */
} alq_import_idx_options;

/* Reads the idx files of `o` and writes the pool o->out: /embeddings float32
 * [N][rows * cols] (pixels / 255), /labels int32 [N], classes = max label + 1.
 * Input error naming the file for a bad magic, a short file, image and label
 * counts that differ, or a header announcing more than a pool can hold (the
 * values are read as they arrive, never allocated at the announced size).
 * result->features is rows * cols. */
alq_err alq_import_idx(const alq_import_idx_options *o, alq_import_result *result);

#endif
