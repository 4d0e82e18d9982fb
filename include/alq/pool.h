/* alq/pool.h: the pool file format (docs/format.md) and its readers/writers.
 *
 * A pool is an HDF5 file:
 *   /embeddings      float16/32/64 [N][d]  required
 *   /probs           float16/32/64 [N][C]  optional model class probabilities
 *   /ids             int32/int64/uint64 [N] optional unique ids in any order; default row index
 *   /labels          int32/int64 [N]  optional ground truth, -1 = unknown
 *   /labeled/ids     int64   [L]      optional initial labeled set (or a separate file)
 *   /labeled/labels  int32   [L]
 *   /mc_probs        float32 [T][N][C] optional: T stochastic forward passes (BALD)
 *   attribute "classes" (int64) on the root group: C when /probs is absent.
 */
#ifndef ALQ_POOL_H
#define ALQ_POOL_H
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"

#define ALQ_PATH_MAX 4096
#define ALQ_DATASET_MAX 256
#define ALQ_LAYOUT_SPEC_MAX (4 * (ALQ_DATASET_MAX + 16)) /* alq_layout_format's longest spec */

/* Where the four row datasets live in a pool file: the names users gave them
 * (--embeddings /emb, or --layout embeddings=/emb,probs=/pred).  An empty name
 * is the standard one (/embeddings, /probs, /ids, /labels). */
typedef struct {
  char embeddings[ALQ_DATASET_MAX];
  char probs[ALQ_DATASET_MAX];
  char ids[ALQ_DATASET_MAX];
  char labels[ALQ_DATASET_MAX];
} alq_layout;

/* The dataset name of `field` (one ALQ_FIELD_* bit of IDS, EMBEDDINGS, PROBS,
 * LABELS) in `layout`, or its standard name. */
const char *alq_layout_name(const alq_layout *layout, unsigned field);
/* Parses "embeddings=/emb,probs=/pred,ids=/idx,labels=/y" (any subset, any
 * order) into `layout`, over what it holds.  Names must start with '/'. */
alq_err alq_layout_parse(const char *spec, alq_layout *layout);
/* The inverse: the non-standard names as one spec ("" for the standard
 * layout), for the manifest and the round state. */
void alq_layout_format(const alq_layout *layout, char *out, size_t size);
/* Sets one field's name (ALQ_FIELD_* as above); `option` names it in errors. */
alq_err alq_layout_set(alq_layout *layout, unsigned field, const char *name, const char *option);
/* The layout alq_pool_inspect applies: the command line's (cli/args.c sets it
 * once per process, before any pool is opened), else the standard one. */
void alq_layout_use(const alq_layout *layout);
const alq_layout *alq_layout_in_use(void);
/* 1 when the command line named any dataset. */
int alq_layout_given(void);

typedef struct {
  char path[ALQ_PATH_MAX];
  alq_layout layout;  /* dataset names in this file */
  int64_t n_items;    /* N */
  int64_t dim;        /* d: columns of /embeddings */
  int64_t n_classes;  /* C: columns of /probs, else the "classes" attribute, else 0 */
  int has_probs;
  int has_ids;
  int has_labels;
  int64_t n_labeled;  /* rows of /labeled/ids in this file (0 when absent) */
  int64_t chunk_rows; /* rows per HDF5 chunk of /embeddings; 1 when contiguous */
  int64_t mc_passes;  /* T: passes in /mc_probs [T][N][C]; 0 when absent */
  /* Stored element widths in bytes (2, 4 or 8; 0 = float32/int64 as read):
   * rows are converted to float32 / int64 / int32 per chunk on read. */
  int embeddings_width, probs_width;
  int ids_unsigned;   /* /ids is uint64: ids above 2^63 - 1 are refused on read */
} alq_pool_meta;

/* Opens `path` serially and checks that every present dataset has the
 * documented rank, dtype class and matching row count, with the dataset names
 * of alq_layout_in_use().  Reads no bulk data.  A missing dataset's error lists
 * the datasets the file holds (name, shape, dtype). */
alq_err alq_pool_inspect(const char *path, alq_pool_meta *meta);
/* The same with an explicit layout. */
alq_err alq_pool_inspect_layout(const char *path, const alq_layout *layout, alq_pool_meta *meta);

/* A labeled set: ids sorted ascending, labels aligned with them. */
typedef struct {
  int64_t n;
  int64_t *ids;
  int32_t *labels;
} alq_labeled;

/* Reads /labeled/ids and /labeled/labels from `path` (a pool or a separate
 * labeled file), sorts by id, and rejects duplicate ids and labels outside
 * [0, n_classes) (n_classes <= 0 skips the range check).  A file without a
 * /labeled group gives an empty set when `required` is 0, an error otherwise. */
alq_err alq_labeled_read(const char *path, int64_t n_classes, int required, alq_labeled *out);
void alq_labeled_free(alq_labeled *set);

/* Which datasets a parallel read fills. */
enum {
  ALQ_FIELD_IDS = 1u << 0,
  ALQ_FIELD_EMBEDDINGS = 1u << 1,
  ALQ_FIELD_PROBS = 1u << 2,
  ALQ_FIELD_LABELS = 1u << 3,
  /* The mean over T stochastic passes of each pass's predictive entropy
   * (BALD's second term).  A source that serves it serves PROBS as the mean
   * of the same passes: from /mc_probs, or a model's MC dropout. */
  ALQ_FIELD_EXPECTED_ENTROPY = 1u << 4,
  /* With EMBEDDINGS: the rows as stored binary16 too (alq_rows.half), which
   * a source of IEEE half rows (hdf5, list) fills; others leave it. */
  ALQ_FIELD_HALF_EMBEDDINGS = 1u << 5,
  /* With HALF_EMBEDDINGS: nothing reads the floats of rows that come as
   * halves, so a source that fills alq_rows.half leaves the floats unwritten
   * (no widening); one that does not fills the floats as usual. */
  ALQ_FIELD_HALVES_ONLY = 1u << 6,
};

/* Destination rows of a read; a field's buffer must hold count rows. */
typedef struct {
  int64_t *ids;      /* count; filled with row indices when the pool has no /ids */
  float *embeddings; /* count * d */
  float *probs;      /* count * C */
  int32_t *labels;   /* count */
  float *expected_entropy; /* count */
  /* count * d (ALQ_FIELD_HALF_EMBEDDINGS), or NULL: the embeddings as the
   * pool stores them, binary16; half_filled is 1 when the source filled it
   * (it read IEEE halves), 0 when only the floats are there. */
  uint16_t *half;
  int half_filled;
} alq_rows;

/* Checks rows read from the pool: finite embeddings; probabilities finite,
 * non-negative and summing to 1 within 1e-3.  On failure records one line naming
 * the file, dataset, global row, id and value.  `first_row` is the global row of
 * rows[0]. */
alq_err alq_rows_validate(const alq_pool_meta *meta, const alq_rows *rows, int64_t first_row,
                          int64_t count, unsigned fields);

/* A whole pool in memory, for the serial writers (alq gen, alq import). */
typedef struct {
  int64_t n_items, dim, n_classes;
  float *embeddings;      /* N * d, required */
  float *probs;           /* N * C or NULL */
  int64_t *ids;           /* N or NULL (row index) */
  int32_t *labels;        /* N or NULL */
  alq_labeled labeled;    /* n = 0 for none */
  float *expected_entropy; /* N or NULL: BALD's mean pass entropy (ALQ_FIELD_EXPECTED_ENTROPY), memory sources only */
} alq_pool_data;

/* Writes `data` to `path` atomically (a temporary file in the same folder,
 * renamed on success; nothing is left behind on failure). */
alq_err alq_pool_write(const char *path, const alq_pool_data *data);

/* The same with /embeddings and /probs stored as float16 (float_bytes 2:
 * IEEE binary16, numpy's float16, rounded to nearest; half the bytes to read)
 * or float32 (4). */
alq_err alq_pool_write_stored(const char *path, const alq_pool_data *data, int float_bytes);

/* Draws an initial labeled set of n_labeled items from a pool with known labels
 * (labels[i] in [0, n_classes), or -1 for an item that cannot be drawn): each
 * class gets its proportional share by largest remainder (ties to the lower
 * class), and at least one item when n_labeled >= the number of non-empty
 * classes; within a class the items with the smallest
 * alq_hash3(seed, id, ALQ_PURPOSE_LABELED_DRAW) are drawn.  ids may be NULL
 * (row index).  The result is sorted by id; free it with alq_labeled_free(). */
alq_err alq_labeled_draw_stratified(const int32_t *labels, const int64_t *ids, int64_t n,
                                    int64_t n_classes, int64_t n_labeled, uint64_t seed,
                                    alq_labeled *out);

#endif
