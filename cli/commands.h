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
int alq_cmd_project(int argc, char **argv);    /* collective */
int alq_cmd_score(int argc, char **argv);      /* collective */
int alq_cmd_ood(int argc, char **argv);        /* collective */
int alq_cmd_import_idx(int argc, char **argv); /* serial */
int alq_cmd_gen(int argc, char **argv);        /* serial */
int alq_cmd_import(int argc, char **argv);     /* serial */
int alq_cmd_info(int argc, char **argv);       /* serial */
int alq_cmd_export(int argc, char **argv);     /* serial */
int alq_cmd_ingest(int argc, char **argv);     /* serial */
int alq_cmd_manifest(int argc, char **argv);   /* serial */
int alq_cmd_consensus(int argc, char **argv);  /* serial */
int alq_cmd_strategies(int argc, char **argv); /* serial */

/* For collective commands: rank 0 parses the command line with
 * parse(argc, argv, opts) (returning -1 for --help, else an alq_err) and every
 * rank learns the verdict.  Returns 1 when the command should run; otherwise
 * 0 with *exit_code set: 0 after --help (rank 0 printed usage()), the error's
 * code after a bad command line (rank 0 printed it).  Only rank 0's opts are
 * filled. */
int alq_cli_parse_on_root(int argc, char **argv, int (*parse)(int, char **, void *), void (*usage)(void),
                          void *opts, int *exit_code);

/* Prints "alq: error: <message>" (one line) to stderr and returns code. */
int alq_cli_fail(int code);

#endif
