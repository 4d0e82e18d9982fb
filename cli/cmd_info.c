/* cli/cmd_info.c: `alq info`, what a pool holds (alq_pool_types_read) and a
 * full validation pass (alq_pool_check_run, alq/pool_info.h), printed. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/pool_info.h"
#include "alq/source.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq info POOL [--embeddings NAME --probs NAME --ids NAME --labels NAME | --layout SPEC]\n"
    "\n"
    "POOL is an HDF5 pool file, a pool list (docs/format.md, \"Pools in several\n"
    "files\") or a gen: spec.  Prints the pool's shape (items, dim, classes),\n"
    "which optional datasets it holds, its chunking, the class counts of /labels and of the in-pool labeled\n"
    "set, then validates every row: finite embeddings; probabilities finite, >= 0\n"
    "and summing to 1 within 1e-3; ids unique (in any order); labels in [-1, C);\n"
    "labeled ids present in the pool.  Exits 3 at the first invalid value, naming\n"
    "the dataset and row.\n\n" ALQ_ARG_LAYOUT_USAGE;

static void print_counts(const char *what, const int64_t *counts, int64_t n_classes, int64_t unknown) {
  printf("%s:", what);
  for (int64_t k = 0; k < n_classes; k++)
    printf(" %lld=%lld", (long long)k, (long long)counts[k]);
  if (unknown > 0)
    printf(" unknown=%lld", (long long)unknown);
  printf("\n");
}

static void print_structure(const alq_pool_meta *m, const alq_pool_types *t) {
  const alq_layout *l = &m->layout;
  printf("path: %s\n", m->path);
  if (t->shards)
    printf("shards: %lld (a pool list; stored types of its first shard, which every shard matches)\n",
           (long long)t->shards);
  printf("items: %lld\n", (long long)m->n_items);
  printf("dim: %lld\n", (long long)m->dim);
  printf("classes: %lld\n", (long long)m->n_classes);
  const char *emb = alq_layout_name(l, ALQ_FIELD_EMBEDDINGS), *probs = alq_layout_name(l, ALQ_FIELD_PROBS),
             *ids = alq_layout_name(l, ALQ_FIELD_IDS), *labels = alq_layout_name(l, ALQ_FIELD_LABELS);
  printf("%s: %s [%lld][%lld], %lld rows per chunk\n", emb, t->type[ALQ_SHARD_EMBEDDINGS],
         (long long)m->n_items, (long long)m->dim, (long long)m->chunk_rows);
  if (m->has_probs)
    printf("%s: %s [%lld][%lld]\n", probs, t->type[ALQ_SHARD_PROBS], (long long)m->n_items,
           (long long)m->n_classes);
  else
    printf("%s: absent\n", probs);
  if (m->has_ids)
    printf("%s: %s [%lld]\n", ids, t->type[ALQ_SHARD_IDS], (long long)m->n_items);
  else
    printf("%s: absent (ids are the row indices)\n", ids);
  if (m->has_labels)
    printf("%s: %s [%lld]\n", labels, t->type[ALQ_SHARD_LABELS], (long long)m->n_items);
  else
    printf("%s: absent\n", labels);
  if (m->mc_passes > 0)
    printf("/mc_probs: float32 [%lld][%lld][%lld] (%lld stochastic passes)\n", (long long)m->mc_passes,
           (long long)m->n_items, (long long)m->n_classes, (long long)m->mc_passes);
  else
    printf("/mc_probs: absent\n");
  printf("/labeled: %lld ids\n", (long long)m->n_labeled);
}

static void print_check(const alq_pool_meta *meta, const alq_pool_check *c) {
  if (!meta->has_labels)
    printf("class counts: n/a (no /labels)\n");
  else if (!c->class_counts)
    printf("class counts: n/a (class count unknown: no /probs and no classes attribute)\n");
  else
    print_counts("class counts", c->class_counts, meta->n_classes, c->unknown);
  printf("labeled: %lld\n", (long long)c->labeled);
  if (c->labeled_class_counts)
    print_counts("labeled class counts", c->labeled_class_counts, meta->n_classes, 0);
  printf("valid: yes (%lld rows in %lld blocks)\n", (long long)meta->n_items, (long long)c->blocks);
}

static alq_err info(const char *path) {
  alq_pool_meta meta;
  ALQ_CHECK(alq_source_describe(path, &meta));
  alq_pool_types types;
  ALQ_CHECK(alq_pool_types_read(&meta, &types));
  print_structure(&meta, &types);
  fflush(stdout);
  alq_pool_check check;
  alq_err err = alq_pool_check_run(&meta, &check);
  if (!err)
    print_check(&meta, &check);
  alq_pool_check_free(&check);
  return err;
}

int alq_cmd_info(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c != 'h')
      return alq_cli_fail(alq_arg_unknown("info", optopt, argv[optind - 1]));
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (optind != argc - 1)
    return alq_cli_fail(alq_error_set(ALQ_ERR_USAGE, "alq info: expects one POOL argument, got %d (see alq info --help)",
                                      argc - optind));
  alq_err err = info(argv[optind]);
  return err ? alq_cli_fail(err) : ALQ_OK;
}
