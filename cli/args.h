/* cli/args.h: strict parsing of option values shared by the commands. */
#ifndef ALQ_CLI_ARGS_H
#define ALQ_CLI_ARGS_H
#include <stdint.h>
#include "alq/error.h"

/* Parses a whole decimal integer in [min, max]; errors name the option. */
alq_err alq_arg_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out);
alq_err alq_arg_uint64(const char *option, const char *text, uint64_t *out);
alq_err alq_arg_double(const char *option, const char *text, double min, double max, double *out);
/* Parses a byte count with an optional binary suffix: 512M, 2G, 1.5T. */
alq_err alq_arg_size(const char *option, const char *text, int64_t *out);
/* Maps `text` to the index of the matching name in names[0..n); errors list them. */
alq_err alq_arg_choice(const char *option, const char *text, const char *const *names, int n, int *out);
/* Copies a path, rejecting one that does not fit. */
alq_err alq_arg_path(const char *option, const char *text, char *dst, size_t size);
/* The pool layout options every command that reads a pool accepts
 * (docs/format.md, "Pools in your layout"): --embeddings NAME, --probs NAME,
 * --ids NAME, --labels NAME and --layout key=NAME,...  (also as --opt=VALUE).
 * Removes them from argv (so the command's own getopt never sees them) and
 * makes them the process's layout (alq_layout_use).  Every rank runs it on the
 * same argv; a malformed value is a usage error.  One line at the top of each
 * such command: if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE); */
alq_err alq_arg_layout_take(int *argc, char **argv);
/* The usage lines for those options. */
#define ALQ_ARG_LAYOUT_USAGE                                                                                  \
  "pool layout (docs/format.md): name the pool's datasets when they are not the standard ones\n"             \
  "  --embeddings NAME  --probs NAME  --ids NAME  --labels NAME   e.g. --embeddings /emb --ids /idx\n"       \
  "  --layout SPEC      the same as one spec: embeddings=/emb,probs=/pred,ids=/idx,labels=/y\n"
/* The one-line message for an option getopt_long rejected (optopt / argv). */
alq_err alq_arg_unknown(const char *command, int optopt_value, const char *arg);

#endif
