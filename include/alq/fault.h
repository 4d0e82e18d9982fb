/* alq/fault.h: failure injection, for testing that every failure is agreed on.
 *
 * With the environment variable ALQ_FAIL_AT=<phase>:<rank> set, rank <rank>
 * fails with an internal error (exit code 1) whenever it reaches the
 * fault point of <phase>; the others run on and must learn of it at the next
 * alq_agree().  With ALQ_FAIL_AT=<phase>:<rank>:kill the rank kills itself
 * with SIGKILL there instead (no error, no cleanup: a crash), and with
 * <phase>@K the point acts only the K-th time this process reaches it (e.g.
 * commit-done@2: the second commit, where a first one stages a file the second
 * renames).  The phases are
 * the boundaries of `alq select`, in order:
 *
 *   prepare             rank 0 checked the options, inspected the pool, read the labeled set
 *   broadcast           the request reached every rank
 *   labeled             the labeled set's buffers are ready on every rank, before its broadcast
 *   pool-open           every rank opened the pool (or the model over it)
 *   labeled-embeddings  rank 0 fetched the labeled items' embeddings
 *   anchoral-retrieve   AnchorAL: the retrieval pass is done, before merging the anchor lists
 *   anchoral-merge      AnchorAL: the anchor lists are merged
 *   stream              a streaming pass over a shard is done
 *   score               the scored candidates are kept
 *   candidates          before the global top candidates by score are gathered
 *   kcenter             the exact k-center set up its state
 *   hier-leaf           hierarchical k-center: the leaves are reduced
 *   hier-merge          hierarchical k-center: a level's message sizes are known, before its
 *                       receive buffers are allocated
 *   manifest            the manifest is built
 *   write               before rank 0 writes the batch
 *   report              the per-rank reports are packed
 *
 * and the steps of alq_paths_commit (every command that writes a file), on
 * the process that writes:
 *
 *   commit-synced       every output is written and fsync'd under its temporary name
 *   commit-renamed-K    the K-th output (K = 1, 2, 3) was renamed over its final name
 *   commit-done         every output renamed and its folder fsync'd; old versions not yet removed
 *
 * docs/reliability.md describes the test that reaches each of them.
 */
#ifndef ALQ_FAULT_H
#define ALQ_FAULT_H
#include "alq/error.h"

/* ALQ_OK unless ALQ_FAIL_AT names `phase` and this rank of MPI_COMM_WORLD.
 * A malformed ALQ_FAIL_AT (unknown phase, bad rank) is a usage error on every
 * rank at the first fault point.  The variable is read once: with it unset a
 * fault point costs one branch. */
alq_err alq_fault_point(const char *phase);

#endif
