/* cli/cmd_manifest.c: `alq manifest FILE`: the argument of alq_manifest_show
 * (alq/manifest.h), how a batch was made, readably. */
#include <getopt.h>
#include <stdio.h>

#include "alq/manifest.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq manifest FILE\n"
    "\n"
    "Prints the manifest a selection wrote: command, alq version, when, host, Slurm\n"
    "job, ranks, seed, every option, the pool's identity (path, shape, ids\n"
    "checksum), per-phase timings and the batch checksum.  FILE is a batch file\n"
    "(alq select --out) or a state file (alq select --state), whose rounds are\n"
    "printed in order.  The batch checksum is recomputed from the ids: a mismatch\n"
    "is an input error (exit 3).  Formats: docs/format.md.\n";

int alq_cmd_manifest(int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c != 'h')
      return alq_cli_fail(alq_arg_unknown("manifest", optopt, argv[optind - 1]));
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (optind != argc - 1)
    return alq_cli_fail(alq_error_set(ALQ_ERR_USAGE, "alq manifest: expects one FILE argument, got %d (see alq "
                                                     "manifest --help)",
                                      argc - optind));
  alq_err err = alq_manifest_show(stdout, argv[optind]);
  return err ? alq_cli_fail(err) : ALQ_OK;
}
