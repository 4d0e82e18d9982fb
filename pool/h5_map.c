/* pool/h5_map.c: rows of an HDF5 dataset mapped straight from the file.
 *
 * A contiguous dataset without filters or external storage is one run of
 * bytes at H5Dget_offset in the file, in row-major order: mapping that run
 * read-only gives the page cache's own pages, so a pass that keeps every row
 * (the exact k-center) references them instead of copying them into fresh
 * anonymous memory, whose first-touch page faults cost more than the copy
 * (docs/benchmarks.md, "Goal 3").  Anything else is refused with a reason,
 * and the caller reads the rows as usual. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool_hdf5.h"

/* Why the dataset's bytes are not one plain run in the file, or NULL. */
static const char *not_plain(hid_t file, hid_t ds) {
  hid_t dcpl = H5Dget_create_plist(ds), fcpl = H5Fget_create_plist(file);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  int filters = H5Pget_nfilters(dcpl), external = H5Pget_external_count(dcpl);
  hsize_t userblock = 0;
  H5Pget_userblock(fcpl, &userblock);
  H5Pclose(fcpl);
  H5Pclose(dcpl);
  if (layout == H5D_CHUNKED)
    return "chunked dataset";
  if (layout != H5D_CONTIGUOUS)
    return "not a contiguous dataset";
  if (filters != 0)
    return "filtered dataset";
  if (external != 0)
    return "external storage";
  if (userblock != 0) /* addresses would be relative to the end of the user block */
    return "file with a user block";
  if (H5Dget_offset(ds) == HADDR_UNDEF)
    return "storage not allocated";
  return NULL;
}

const char *alq_h5_map_rows(const char *path, hid_t file, hid_t ds, int64_t row_bytes, int64_t lo, int64_t count,
                            alq_file_map *map, const void **rows) {
  *rows = NULL;
  const char *why = not_plain(file, ds);
  if (why || count == 0)
    return why;
  off_t start = (off_t)(H5Dget_offset(ds) + (haddr_t)(lo * row_bytes));
  size_t bytes = (size_t)(count * row_bytes);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "the file cannot be opened for mapping";
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < start + (off_t)bytes) {
    close(fd);
    return "the file is shorter than the dataset";
  }
  off_t page = (off_t)sysconf(_SC_PAGESIZE), first = start / page * page;
  size_t length = bytes + (size_t)(start - first);
  void *base = mmap(NULL, length, PROT_READ, MAP_SHARED, fd, first);
  close(fd); /* the mapping keeps the file */
  if (base == MAP_FAILED)
    return "mmap failed";
  map->base = base;
  map->length = length;
  *rows = (const unsigned char *)base + (start - first);
  return NULL;
}

void alq_file_unmap(alq_file_map *map) {
  if (map->base)
    munmap(map->base, map->length);
  map->base = NULL;
  map->length = 0;
}
