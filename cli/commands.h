/* cli/commands.h: the alq subcommands.
 *
 * Each returns the process exit code (an alq_err, see alq/error.h).  MPI is
 * initialised by main() before any command runs.  Serial commands (gen,
 * import, info, strategies) run on rank 0 only; main() shares their status
 * with the other ranks.  Every command prints its usage on --help and exits 0.
 */
#ifndef ALQ_CLI_COMMANDS_H
#define ALQ_CLI_COMMANDS_H

int alq_cmd_select(int argc, char **argv);     /* collective */
int alq_cmd_train(int argc, char **argv);      /* collective */
int alq_cmd_retrieve(int argc, char **argv);   /* collective */
int alq_cmd_simulate(int argc, char **argv);   /* collective */
int alq_cmd_import_idx(int argc, char **argv); /* serial */
int alq_cmd_gen(int argc, char **argv);        /* serial */
int alq_cmd_import(int argc, char **argv);     /* serial */
int alq_cmd_info(int argc, char **argv);       /* serial */
int alq_cmd_export(int argc, char **argv);     /* serial */
int alq_cmd_ingest(int argc, char **argv);     /* serial */
int alq_cmd_manifest(int argc, char **argv);   /* serial */
int alq_cmd_strategies(int argc, char **argv); /* serial */

/* Prints "alq: error: <message>" (one line) to stderr and returns code. */
int alq_cli_fail(int code);

#endif
