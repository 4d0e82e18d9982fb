/* cli/main.c: `alq COMMAND [options]`: MPI set-up and dispatch. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/error.h"
#include "alq/version.h"
#include "commands.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  int collective; /* 0: runs on rank 0 only */
  const char *summary;
} command;

static const command commands[] = {
    {"select", alq_cmd_select, 1, "choose the next batch to label from a pool (run under mpiexec/srun)"},
    {"retrieve", alq_cmd_retrieve, 1, "AnchorAL retrieval alone: each anchor's K most similar unlabeled items"},
    {"train", alq_cmd_train, 1, "train a classifier head (logreg, mlp) on a pool's labeled items"},
    {"simulate", alq_cmd_simulate, 1, "replay active learning with the pool's labels as annotator; learning curves"},
    {"project", alq_cmd_project, 1, "fit a PCA projection of the embeddings across ranks (ScaLAPACK), for select"},
    {"score", alq_cmd_score, 1, "score every item: Mahalanobis distance to the labeled classes (ScaLAPACK)"},
    {"ood", alq_cmd_ood, 1, "out-of-distribution scores and reject flags of every item (select --ood's stage)"},
    {"import-idx", alq_cmd_import_idx, 0, "turn idx image/label files (MNIST, Fashion-MNIST) into a pool"},
    {"gen", alq_cmd_gen, 0, "write a synthetic pool (Gaussian mixture, imbalanced classes)"},
    {"import", alq_cmd_import, 0, "turn a CSV or CSV.gz of features and labels into a pool"},
    {"info", alq_cmd_info, 0, "print a pool's shapes and class counts, and validate it"},
    {"export", alq_cmd_export, 0, "write a batch for annotators as CSV and JSON tasks, with payload columns"},
    {"ingest", alq_cmd_ingest, 0, "merge annotators' answers (id,label[,annotator]) into a round state"},
    {"manifest", alq_cmd_manifest, 0, "print the manifest of a batch, or of every round of a state file"},
    {"consensus", alq_cmd_consensus, 0, "consensus labels of a round state with their quality (CROWDLAB), for the final dataset"},
    {"strategies", alq_cmd_strategies, 0, "list the selection strategies"},
};

static void usage(FILE *out) {
  fprintf(out,
          "alq %s: active-learning batch selection for huge pools, as one MPI job\n\n"
          "usage: alq COMMAND [options]        (alq COMMAND --help for each)\n\ncommands:\n",
          ALQ_VERSION);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nexit codes: 0 success, 1 internal error, 2 usage error, 3 input error,\n"
               "            4 output error, 5 out of memory, 6 MPI error\n");
}

int alq_cli_fail(int code) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    fprintf(stderr, "alq: error: %s\n", alq_error_message()[0] ? alq_error_message() : alq_error_name(code));
  return code;
}

int alq_cli_parse_on_root(int argc, char **argv, int (*parse)(int, char **, void *), void (*usage)(void),
                          void *opts, int *exit_code) {
  int rank, action = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    action = parse(argc, argv, opts);
  alq_err sent = alq_bcast(&action, sizeof action, 0, MPI_COMM_WORLD);
  if (sent)
    action = sent; /* e.g. a bad ALQ_MPI_MAX_MESSAGE_BYTES: exit 2 on every rank */
  if (action == -1) {
    if (rank == 0)
      usage();
    *exit_code = 0;
    return 0;
  }
  if (action) {
    *exit_code = alq_cli_fail(action);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  /* FUNNELED: the stream's compute thread makes no MPI call (workers/stream.c);
   * below it, passes read and compute in turn. */
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int code = ALQ_OK;
  const command *cmd = NULL;
  if (argc >= 2)
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (strcmp(argv[1], commands[i].name) == 0)
        cmd = &commands[i];
  if (!cmd) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
      if (rank == 0)
        usage(stdout);
    } else if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
      if (rank == 0)
        printf("alq %s\n", ALQ_VERSION);
    } else {
      if (rank == 0) {
        if (argc >= 2)
          fprintf(stderr, "alq: error: unknown command '%s'\n", argv[1]);
        usage(stderr);
      }
      code = ALQ_ERR_USAGE;
    }
  } else if (cmd->collective) {
    code = cmd->run(argc - 1, argv + 1);
  } else {
    /* A serial command under mpiexec: rank 0 works, the others learn its status. */
    if (rank == 0)
      code = cmd->run(argc - 1, argv + 1);
    alq_err sent = alq_bcast(&code, sizeof code, 0, MPI_COMM_WORLD);
    code = sent ? (int)sent : code;
  }
  MPI_Finalize();
  return code;
}
