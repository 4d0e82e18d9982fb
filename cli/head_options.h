/* cli/head_options.h: the classifier-head options `alq train` and
 * `alq simulate` share (--model and its hyperparameters). */
#ifndef ALQ_CLI_HEAD_OPTIONS_H
#define ALQ_CLI_HEAD_OPTIONS_H
#include <getopt.h>

#include "alq/model.h"

/* getopt_long entries; a command's own options must not reuse these codes. */
#define ALQ_HEAD_LONGOPTS                                                                                  \
  {"model", required_argument, 0, 'm'}, {"hidden", required_argument, 0, 'H'},                             \
      {"dropout", required_argument, 0, 'd'}, {"l2", required_argument, 0, 'L'},                           \
      {"lr", required_argument, 0, 'r'}, {"epochs", required_argument, 0, 'e'},                            \
      {"class-weights", no_argument, 0, 'w'}

/* First pass over the command line: finds --help (returns -1) and --model
 * KIND (*kind stays 0 without it), because the kind's defaults are what the
 * other options override.  Returns an alq_err otherwise. */
int alq_head_kind_pass(int argc, char **argv, const struct option *longopts, alq_model_kind *kind);

/* Applies one head option by its getopt code to *train.  Returns 1 when `c`
 * was a head option (its parse error, if any, in *err), 0 otherwise. */
int alq_head_option(int c, const char *arg, alq_train_options *train, alq_err *err);

#endif
