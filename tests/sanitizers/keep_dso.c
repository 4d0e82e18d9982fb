/* Linked into every executable of a sanitizer build (-DALQ_SANITIZE, top-level
 * CMakeLists.txt) and exported from it: dlclose() does nothing, so shared
 * objects stay mapped until the process ends.
 *
 * Why: Open MPI 4.1 dlclose()s its MCA components in MPI_Finalize (it has no
 * "disable dlclose" parameter before 5.0).  LeakSanitizer's exit check then
 * sees allocation stacks through unmapped code: the frames print as
 * <unknown module>, cannot be matched by tests/sanitizers/lsan.supp, and every
 * lookup re-reads /proc/self/maps, which made the exit check cost ~4 s per
 * process.  Keeping the objects mapped is also what ASan's own documentation
 * recommends for readable reports from dlclose()d code. */
int dlclose(void *handle) {
  (void)handle;
  return 0;
}
