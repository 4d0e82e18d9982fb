/* cli/ood_options.c */
#include "ood_options.h"

#include <stdint.h>

#include "args.h"

int alq_ood_option(int c, const char *arg, alq_ood_options *o, unsigned *given, alq_err *err) {
  switch (c) {
  case ALQ_OOD_OPT_KIND: *err = alq_ood_parse_kind(arg, &o->kind); return 1;
  case ALQ_OOD_OPT_REJECT:
    *given |= ALQ_OOD_GIVEN_REJECT;
    *err = alq_arg_double("--ood-reject", arg, 0, 1, &o->reject);
    return 1;
  case ALQ_OOD_OPT_TEMPERATURE:
    *given |= ALQ_OOD_GIVEN_TEMPERATURE;
    *err = alq_arg_double("--ood-temperature", arg, 1e-6, 1e6, &o->temperature);
    return 1;
  case ALQ_OOD_OPT_K:
    *given |= ALQ_OOD_GIVEN_K;
    *err = alq_arg_int("--ood-k", arg, 1, INT32_MAX, &o->k);
    return 1;
  case ALQ_OOD_OPT_SPACE:
    *given |= ALQ_OOD_GIVEN_SPACE;
    *err = alq_ood_parse_space(arg, &o->space);
    return 1;
  default: return 0;
  }
}
