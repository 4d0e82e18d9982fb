/* cli/head_options.c */
#include "head_options.h"

#include "args.h"

int alq_head_kind_pass(int argc, char **argv, const struct option *longopts, alq_model_kind *kind) {
  *kind = 0;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c == 'h')
      return -1;
    if (c == 'm' && !(*kind = alq_model_kind_parse(optarg)))
      return alq_error_set(ALQ_ERR_USAGE, "--model must be logreg or mlp, got '%s'", optarg);
  }
  optind = 1;
  return ALQ_OK;
}

int alq_head_option(int c, const char *arg, alq_train_options *t, alq_err *err) {
  switch (c) {
  case 'm': *err = ALQ_OK; return 1; /* taken by alq_head_kind_pass */
  case 'H': *err = alq_arg_int("--hidden", arg, 1, 100000, &t->hidden); return 1;
  case 'd': *err = alq_arg_double("--dropout", arg, 0, 0.95, &t->dropout); return 1;
  case 'L': *err = alq_arg_double("--l2", arg, 0, 1e6, &t->l2); return 1;
  case 'r': *err = alq_arg_double("--lr", arg, 1e-9, 10, &t->lr); return 1;
  case 'e': *err = alq_arg_int("--epochs", arg, 1, 10000000, &t->epochs); return 1;
  case 'w': t->class_weights = 1; *err = ALQ_OK; return 1;
  default: return 0;
  }
}
