/* tests/test_pool_write.c: alq_pool_write round-trips every dataset through
 * HDF5, chunks [N]-row datasets alike, and leaves nothing behind on failure. */
#include <dirent.h>
#include <hdf5.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alq/pool.h"
#include "alq/version.h"

static char dir[256];

static int make_dir(void **state) {
  snprintf(dir, sizeof dir, "/tmp/alq-test-pool-write-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

/* Removes the pool files and the folder; fails the run if anything else
 * (a left-over temporary) is there. */
static int remove_dir(void **state) {
  char path[512];
  snprintf(path, sizeof path, "%s/pool.h5", dir);
  remove(path);
  return rmdir(dir);
}

static int entries_in_dir(void) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void read_dataset(hid_t file, const char *name, hid_t mem_type, void *buf, hsize_t *dims,
                         hsize_t *chunk) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  assert_true(ds >= 0);
  hid_t space = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
  H5Sget_simple_extent_dims(space, dims, NULL);
  if (chunk) {
    assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
    H5Pget_chunk(dcpl, 2, chunk);
  }
  assert_true(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Dclose(ds);
}

static void test_round_trip(void **state) {
  /* d = 64 gives 4096-row chunks, so N = 5000 spans two chunks. */
  enum { N = 5000, D = 64, C = 3, L = 4 };
  float *emb = malloc(sizeof(float) * N * D), *probs = malloc(sizeof(float) * N * C);
  int64_t *ids = malloc(sizeof(int64_t) * N);
  int32_t *labels = malloc(sizeof(int32_t) * N);
  for (int64_t i = 0; i < N; i++) {
    for (int j = 0; j < D; j++)
      emb[i * D + j] = (float)(i * 0.5 - j);
    for (int k = 0; k < C; k++)
      probs[i * C + k] = k == i % C ? 0.5f : 0.25f;
    ids[i] = 10 * i + 3;
    labels[i] = i % 7 == 0 ? -1 : (int32_t)(i % C);
  }
  int64_t labeled_ids[L] = {3, 13, 23, 49993};
  int32_t labeled_labels[L] = {0, 1, 2, 1};
  alq_pool_data data = {N, D, C, emb, probs, ids, labels, {L, labeled_ids, labeled_labels}, NULL};
  char path[512];
  snprintf(path, sizeof path, "%s/pool.h5", dir);
  assert_int_equal(alq_pool_write(path, &data), ALQ_OK);
  /* Writing again replaces the file (rename over an existing one). */
  assert_int_equal(alq_pool_write(path, &data), ALQ_OK);
  assert_int_equal(entries_in_dir(), 1);

  float *emb2 = malloc(sizeof(float) * N * D), *probs2 = malloc(sizeof(float) * N * C);
  int64_t *ids2 = malloc(sizeof(int64_t) * N), lids2[L];
  int32_t *labels2 = malloc(sizeof(int32_t) * N), llabels2[L];
  hsize_t dims[2], chunk[2];
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(file >= 0);

  read_dataset(file, "/embeddings", H5T_NATIVE_FLOAT, emb2, dims, chunk);
  assert_int_equal(dims[0], N);
  assert_int_equal(dims[1], D);
  assert_int_equal(chunk[0], (1 << 20) / (4 * D));
  assert_int_equal(chunk[1], D);
  hsize_t rows_per_chunk = chunk[0];
  assert_memory_equal(emb, emb2, sizeof(float) * N * D);

  read_dataset(file, "/probs", H5T_NATIVE_FLOAT, probs2, dims, chunk);
  assert_int_equal(dims[1], C);
  assert_int_equal(chunk[0], rows_per_chunk);
  assert_memory_equal(probs, probs2, sizeof(float) * N * C);

  read_dataset(file, "/ids", H5T_NATIVE_INT64, ids2, dims, chunk);
  assert_int_equal(dims[0], N);
  assert_int_equal(chunk[0], rows_per_chunk);
  assert_memory_equal(ids, ids2, sizeof(int64_t) * N);

  read_dataset(file, "/labels", H5T_NATIVE_INT32, labels2, dims, chunk);
  assert_int_equal(chunk[0], rows_per_chunk);
  assert_memory_equal(labels, labels2, sizeof(int32_t) * N);

  read_dataset(file, "/labeled/ids", H5T_NATIVE_INT64, lids2, dims, NULL);
  assert_int_equal(dims[0], L);
  assert_memory_equal(labeled_ids, lids2, sizeof lids2);
  read_dataset(file, "/labeled/labels", H5T_NATIVE_INT32, llabels2, dims, NULL);
  assert_memory_equal(labeled_labels, llabels2, sizeof llabels2);

  int64_t classes = 0;
  hid_t attr = H5Aopen(file, "classes", H5P_DEFAULT);
  assert_true(H5Aread(attr, H5T_NATIVE_INT64, &classes) >= 0);
  H5Aclose(attr);
  assert_int_equal(classes, C);

  attr = H5Aopen(file, "alq_version", H5P_DEFAULT);
  hid_t type = H5Aget_type(attr);
  assert_int_equal(H5Tget_class(type), H5T_STRING);
  char *version = NULL;
  assert_true(H5Aread(attr, type, &version) >= 0);
  assert_string_equal(version, ALQ_VERSION);
  H5free_memory(version);
  H5Tclose(type);
  H5Aclose(attr);
  H5Fclose(file);

  /* The lead's structural reader agrees. */
  alq_pool_meta meta;
  assert_int_equal(alq_pool_inspect(path, &meta), ALQ_OK);
  assert_int_equal(meta.n_items, N);
  assert_int_equal(meta.dim, D);
  assert_int_equal(meta.n_classes, C);
  assert_int_equal(meta.chunk_rows, rows_per_chunk);
  assert_true(meta.has_probs && meta.has_ids && meta.has_labels);
  assert_int_equal(meta.n_labeled, L);

  free(emb), free(probs), free(ids), free(labels);
  free(emb2), free(probs2), free(ids2), free(labels2);
}

/* Small pools: one chunk of all rows; optional datasets absent when NULL. */
static void test_minimal_pool(void **state) {
  float emb[3 * 2] = {1, 2, 3, 4, 5, 6};
  alq_pool_data data = {3, 2, 0, emb, NULL, NULL, NULL, {0, NULL, NULL}, NULL};
  char path[512];
  snprintf(path, sizeof path, "%s/pool.h5", dir);
  assert_int_equal(alq_pool_write(path, &data), ALQ_OK);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(file >= 0);
  float back[6];
  hsize_t dims[2], chunk[2];
  read_dataset(file, "/embeddings", H5T_NATIVE_FLOAT, back, dims, chunk);
  assert_int_equal(chunk[0], 3);
  assert_memory_equal(emb, back, sizeof emb);
  assert_int_equal(H5Lexists(file, "/probs", H5P_DEFAULT), 0);
  assert_int_equal(H5Lexists(file, "/labeled", H5P_DEFAULT), 0);
  assert_int_equal(H5Aexists(file, "classes"), 0);
  H5Fclose(file);
}

/* A folder that does not exist: an output error naming the path, no temp. */
static void test_failure_names_path(void **state) {
  float emb[2] = {1, 2};
  alq_pool_data data = {1, 2, 0, emb, NULL, NULL, NULL, {0, NULL, NULL}, NULL};
  char path[512];
  snprintf(path, sizeof path, "%s/missing-folder/pool.h5", dir);
  alq_error_clear();
  assert_int_equal(alq_pool_write(path, &data), ALQ_ERR_OUTPUT);
  assert_non_null(strstr(alq_error_message(), path));
  alq_error_clear();
  /* A failure after the temporary exists (the rename onto a non-empty
   * folder fails): the temporary is removed and the target is untouched. */
  char target[512], inside[600];
  snprintf(target, sizeof target, "%s/occupied", dir);
  snprintf(inside, sizeof inside, "%s/keep", target);
  assert_int_equal(mkdir(target, 0700), 0);
  int before = entries_in_dir();
  FILE *keep = fopen(inside, "w");
  assert_non_null(keep);
  fclose(keep);
  assert_int_equal(alq_pool_write(target, &data), ALQ_ERR_OUTPUT);
  assert_non_null(strstr(alq_error_message(), target));
  alq_error_clear();
  assert_int_equal(entries_in_dir(), before); /* no temporary left */
  assert_int_equal(access(inside, R_OK), 0);
  assert_int_equal(remove(inside), 0);
  assert_int_equal(rmdir(target), 0);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv); /* the HDF5 library is the parallel build */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_minimal_pool),
      cmocka_unit_test(test_failure_names_path),
  };
  int failed = cmocka_run_group_tests(tests, make_dir, remove_dir);
  MPI_Finalize();
  return failed;
}
