/* SPDX-License-Identifier: MIT */
/*
 * io/file.c — how each file of a load is read: O_DIRECT or through the
 * page cache, and with what alignment.
 *
 * O_DIRECT is what a cold load wants (no copy through the page cache, no
 * cache pollution), but a file already in the page cache reads faster
 * buffered: fastsafetensors users hit exactly that regression.  So the
 * residency of the file's data is measured first, with cachestat(2) (Linux
 * 6.5) or mincore(2) on a mapping that is never touched.  Whether the
 * filesystem takes O_DIRECT, and with what alignment, comes from statx
 * (STATX_DIOALIGN, Linux 6.1); an EINVAL later still switches the file to
 * buffered reads (io/load.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "io/load_int.h"

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

struct cachestat_range {
	uint64_t off, len;
};

struct cachestat_result {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

static double resident_mincore(int fd, uint64_t off, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = off / (uint64_t)page * (uint64_t)page, span = off + len - start, pages, i, in = 0;
	unsigned char *vec;
	void *map;

	pages = (span + (uint64_t)page - 1) / (uint64_t)page;
	map = mmap(NULL, span, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED)
		return 0;
	vec = st_malloc(pages);
	if (vec && mincore(map, span, vec) == 0)
		for (i = 0; i < pages; i++)
			in += vec[i] & 1;
	st_free(vec);
	munmap(map, span);
	return (double)in / (double)pages;
}

double st_io_resident(int fd, uint64_t off, uint64_t len)
{
	struct cachestat_range range = { off, len };
	struct cachestat_result cs;
	uint64_t pages = (len + 4095) / 4096;

	if (!len)
		return 1.0;
	if (syscall(SYS_cachestat, fd, &range, &cs, 0) == 0)
		return pages ? ST_MIN(1.0, (double)cs.nr_cache / (double)pages) : 1.0;
	return resident_mincore(fd, off, len);
}

int st_io_file_open(const struct st_model_file *mf, enum strata_io_direct mode, struct st_io_file *out)
{
	struct statx stx;
	struct stat st;
	char proc[64];

	*out = (struct st_io_file){ .fd_buffered = mf->fd, .fd_direct = -1, .align = 4096 };
	/* A file that shrank since its header was read cannot be loaded. */
	if (fstat(mf->fd, &st))
		return -errno;
	if ((uint64_t)st.st_size < mf->size)
		return -STRATA_ESTALE;
	out->resident = st_io_resident(mf->fd, mf->data_start, mf->size - mf->data_start);
	if (mode == STRATA_DIRECT_OFF || (mode == STRATA_DIRECT_AUTO && out->resident >= 0.5))
		return 0;
	if (syscall(SYS_statx, mf->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align)
			return 0; /* the filesystem does not do direct I/O */
		out->align = ST_MAX(4096u, ST_MAX(stx.stx_dio_offset_align, stx.stx_dio_mem_align));
	}
	/* Reopen the same inode (not the path: it may have been replaced). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mf->fd);
	out->fd_direct = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	out->direct = out->fd_direct >= 0;
	return 0;
}

void st_io_file_close(struct st_io_file *f)
{
	if (f->fd_direct >= 0)
		close(f->fd_direct);
	f->fd_direct = -1;
}
