/* simulate/curve_svg.c: learning curves as a hand-written SVG (no plotting library). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/simulate.h"

#define PANEL_W 440
#define PANEL_H 300
#define MARGIN_L 56
#define MARGIN_T 40
#define GAP 40
#define LEGEND_H 60

/* Mean and standard deviation over seeds of one metric at each round. */
typedef struct {
  int64_t rounds;
  double *labels, *mean, *sd;
} curve;

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

static double metric(const alq_curve_point *p, int which) {
  return which == 0 ? p->accuracy : p->macro_f1;
}

/* Fills c for `strategy`: rows are averaged by round. */
static alq_err curve_of(const alq_curve_point *pts, int64_t n, const char *strategy, int which, curve *c) {
  int64_t rounds = 0;
  for (int64_t i = 0; i < n; i++)
    if (strcmp(pts[i].strategy, strategy) == 0 && pts[i].round + 1 > rounds)
      rounds = pts[i].round + 1;
  c->rounds = rounds;
  c->labels = calloc(rounds, sizeof(double));
  c->mean = calloc(rounds, sizeof(double));
  c->sd = calloc(rounds, sizeof(double));
  double *count = calloc(rounds, sizeof(double));
  if (!c->labels || !c->mean || !c->sd || !count) {
    free(count);
    return alq_error_set(ALQ_ERR_MEMORY, "cannot allocate the curve of %s", strategy);
  }
  for (int64_t i = 0; i < n; i++)
    if (strcmp(pts[i].strategy, strategy) == 0) {
      int64_t r = pts[i].round;
      c->labels[r] += (double)pts[i].labeled;
      c->mean[r] += metric(&pts[i], which);
      count[r] += 1;
    }
  for (int64_t r = 0; r < rounds; r++)
    if (count[r] > 0)
      c->labels[r] /= count[r], c->mean[r] /= count[r];
  for (int64_t i = 0; i < n; i++)
    if (strcmp(pts[i].strategy, strategy) == 0) {
      double dev = metric(&pts[i], which) - c->mean[pts[i].round];
      c->sd[pts[i].round] += dev * dev;
    }
  for (int64_t r = 0; r < rounds; r++)
    c->sd[r] = count[r] > 1 ? sqrt(c->sd[r] / (count[r] - 1)) : 0;
  free(count);
  return ALQ_OK;
}

static void curve_free(curve *c) {
  free(c->labels);
  free(c->mean);
  free(c->sd);
}

/* The distinct strategies in order of first appearance. */
static int64_t strategies_of(const alq_curve_point *pts, int64_t n, const char **names, int64_t max) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++) {
    int seen = 0;
    for (int64_t j = 0; j < k && !seen; j++)
      seen = strcmp(names[j], pts[i].strategy) == 0;
    if (!seen && k < max)
      names[k++] = pts[i].strategy;
  }
  return k;
}

static void panel(FILE *f, int x0, const char *label, const alq_curve_point *pts, int64_t n, const char **names,
                  int64_t k, int which, double xmin, double xmax, double ymin, double ymax) {
  /* With simulated annotators an item may have several answers: the axis is what was paid. */
  int relabeled = 0;
  for (int64_t i = 0; i < n && !relabeled; i++)
    relabeled = pts[i].items != pts[i].labeled;
  int w = PANEL_W - MARGIN_L - 10, h = PANEL_H - 50;
  int left = x0 + MARGIN_L, top = MARGIN_T;
#define X(v) (left + ((v) - xmin) / (xmax - xmin) * w)
#define Y(v) (top + h - ((v) - ymin) / (ymax - ymin) * h)
  fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#444'/>\n", left, top, w, h);
  for (int t = 0; t <= 5; t++) {
    double yv = ymin + (ymax - ymin) * t / 5, xv = xmin + (xmax - xmin) * t / 5;
    fprintf(f, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#ddd'/>\n", left, left + w, Y(yv), Y(yv));
    fprintf(f, "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>%.3f</text>\n", left - 4, Y(yv) + 4, yv);
    fprintf(f, "<text x='%.1f' y='%d' font-size='11' text-anchor='middle'>%.0f</text>\n", X(xv), top + h + 16, xv);
  }
  fprintf(f, "<text x='%d' y='%d' font-size='13' text-anchor='middle'>%s</text>\n", left + w / 2, top - 8, label);
  fprintf(f, "<text x='%d' y='%d' font-size='12' text-anchor='middle'>%s</text>\n", left + w / 2, top + h + 34,
          relabeled ? "answers (labels spent)" : "labeled items");
  for (int64_t s = 0; s < k; s++) {
    curve c;
    if (curve_of(pts, n, names[s], which, &c)) {
      curve_free(&c);
      continue;
    }
    const char *color = palette[s % (int64_t)(sizeof palette / sizeof palette[0])];
    /* The +-1 sd band: up along the upper edge, back along the lower one. */
    fprintf(f, "<polygon fill='%s' fill-opacity='0.15' stroke='none' points='", color);
    for (int64_t r = 0; r < c.rounds; r++)
      fprintf(f, "%.1f,%.1f ", X(c.labels[r]), Y(fmin(ymax, c.mean[r] + c.sd[r])));
    for (int64_t r = c.rounds - 1; r >= 0; r--)
      fprintf(f, "%.1f,%.1f ", X(c.labels[r]), Y(fmax(ymin, c.mean[r] - c.sd[r])));
    fprintf(f, "'/>\n<polyline fill='none' stroke='%s' stroke-width='2' points='", color);
    for (int64_t r = 0; r < c.rounds; r++)
      fprintf(f, "%.1f,%.1f ", X(c.labels[r]), Y(c.mean[r]));
    fprintf(f, "'/>\n");
    curve_free(&c);
  }
#undef X
#undef Y
}

alq_err alq_curve_svg(const char *path, const char *title, const alq_curve_point *pts, int64_t n) {
  if (n == 0)
    return alq_error_set(ALQ_ERR_INTERNAL, "no curve points to plot in %s", path);
  const char *names[32];
  int64_t k = strategies_of(pts, n, names, 32);
  double xmin = pts[0].labeled, xmax = pts[0].labeled, lo[2] = {1, 1}, hi[2] = {0, 0};
  for (int64_t i = 0; i < n; i++) {
    xmin = fmin(xmin, (double)pts[i].labeled);
    xmax = fmax(xmax, (double)pts[i].labeled);
    for (int m = 0; m < 2; m++)
      lo[m] = fmin(lo[m], metric(&pts[i], m)), hi[m] = fmax(hi[m], metric(&pts[i], m));
  }
  if (xmax <= xmin)
    xmax = xmin + 1;
  for (int m = 0; m < 2; m++) {
    double pad = 0.05 * (hi[m] - lo[m]) + 1e-3;
    lo[m] = fmax(0, lo[m] - pad), hi[m] = fmin(1, hi[m] + pad);
  }
  FILE *f = fopen(path, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s", path);
  int width = 2 * PANEL_W + GAP, height = PANEL_H + MARGIN_T + LEGEND_H;
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n", width,
          height);
  fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
  fprintf(f, "<text x='%d' y='18' font-size='15' text-anchor='middle'>%s (mean and +-1 sd over seeds)</text>\n",
          width / 2, title);
  panel(f, 0, "test accuracy", pts, n, names, k, 0, xmin, xmax, lo[0], hi[0]);
  panel(f, PANEL_W + GAP, "test macro-F1", pts, n, names, k, 1, xmin, xmax, lo[1], hi[1]);
  for (int64_t s = 0; s < k; s++) {
    int x = MARGIN_L + (int)(s % 5) * 170, y = PANEL_H + MARGIN_T + 10 + (int)(s / 5) * 20;
    const char *color = palette[s % (int64_t)(sizeof palette / sizeof palette[0])];
    fprintf(f, "<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='%s' stroke-width='3'/>\n", x, x + 24, y, y, color);
    fprintf(f, "<text x='%d' y='%d' font-size='12'>%s</text>\n", x + 30, y + 4, names[s]);
  }
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s", path);
  return ALQ_OK;
}
