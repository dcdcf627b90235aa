/* SPDX-License-Identifier: MIT */
/*
 * io/engine_uring.c — reads through io_uring (liburing).
 *
 * One ring per load, driven by the load's thread alone (SINGLE_ISSUER where
 * the kernel has it).  Every file descriptor is registered (fixed files:
 * no per-read fd lookup); destination buffers are registered in slices of
 * at most 1 GiB into a sparse table, so O_DIRECT reads skip pinning pages
 * per request.  When registration is refused (RLIMIT_MEMLOCK, an old
 * kernel) reads go unregistered: slower, still correct.
 */
#include <errno.h>
#include <string.h>

#include "base/base.h"
#include "config.h"
#include "io/load_int.h"

#if HAVE_LIBURING
#include <liburing.h>
#include <sys/syscall.h>
#include <unistd.h>

struct st_engine {
	struct io_uring ring;
	bool files_registered, buffers_ready;
	unsigned queued;
};

static int create(struct st_engine **out, unsigned depth, const struct st_io_file *files, unsigned nfiles)
{
	/* Created here, driven by the load's thread: the ring starts disabled
	 * and that thread enables it (start()), becoming its single issuer. */
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_R_DISABLED };
	struct st_engine *e = st_calloc(1, sizeof(*e));
	int fds[2 * 64], err;
	unsigned i, n = 0;

	if (!e)
		return -ENOMEM;
	err = io_uring_queue_init_params(ST_MAX(depth, 8u), &e->ring, &p);
	if (err == -EINVAL) { /* a kernel before 6.0 */
		p = (struct io_uring_params){ 0 };
		err = io_uring_queue_init_params(ST_MAX(depth, 8u), &e->ring, &p);
	}
	if (err < 0) {
		st_free(e);
		return err;
	}
	if (nfiles <= 64) {
		for (i = 0; i < nfiles; i++) {
			fds[n++] = files[i].fd_buffered;
			fds[n++] = files[i].fd_direct; /* -1 is a sparse slot */
		}
		e->files_registered = io_uring_register_files(&e->ring, fds, n) == 0;
	}
	e->buffers_ready = io_uring_register_buffers_sparse(&e->ring, ST_IO_MAX_SLOTS) == 0;
	*out = e;
	return 0;
}

static int start(struct st_engine *e)
{
	if (!(e->ring.flags & IORING_SETUP_R_DISABLED))
		return 0;
	/* liburing 2.3 declares io_uring_enable_rings() but does not export it. */
	return syscall(__NR_io_uring_register, e->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) ? -errno : 0;
}

static int reg(struct st_engine *e, unsigned slot, void *base, size_t len)
{
	struct iovec iov = { .iov_base = base, .iov_len = len };
	__u64 tag = 0;
	int err;

	if (!e->buffers_ready || slot >= ST_IO_MAX_SLOTS)
		return -EOPNOTSUPP;
	err = io_uring_register_buffers_update_tag(&e->ring, slot, &iov, &tag, 1);
	return err < 0 ? err : 0;
}

static void unreg(struct st_engine *e, unsigned slot)
{
	struct iovec iov = { 0 };
	__u64 tag = 0;

	if (e->buffers_ready && slot < ST_IO_MAX_SLOTS)
		io_uring_register_buffers_update_tag(&e->ring, slot, &iov, &tag, 1);
}

static int flush(struct st_engine *e)
{
	int r = 0;

	while (e->queued) {
		r = io_uring_submit(&e->ring);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		e->queued -= ST_MIN((unsigned)r, e->queued);
		if (r == 0)
			break;
	}
	return 0;
}

static int submit(struct st_engine *e, struct st_chunk *c, const struct st_io_file *f, char *dst)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
	int fd;

	if (!sqe) {
		int err = flush(e);

		if (err)
			return err;
		sqe = io_uring_get_sqe(&e->ring);
		if (!sqe)
			return -EBUSY;
	}
	fd = c->direct ? f->fd_direct : f->fd_buffered;
	if (e->files_registered)
		fd = (int)(2 * c->ext->file + (c->direct ? 1 : 0));
	if (c->buf_index >= 0)
		io_uring_prep_read_fixed(sqe, fd, dst + c->done, c->len - c->done, c->off + c->done, c->buf_index);
	else
		io_uring_prep_read(sqe, fd, dst + c->done, c->len - c->done, c->off + c->done);
	if (e->files_registered)
		sqe->flags |= IOSQE_FIXED_FILE;
	/* A buffered read of cached data would be copied inline, on this one
	 * thread; handed to io-wq workers the copies run on every core. */
	if (!c->direct)
		sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data(sqe, c);
	e->queued++;
	return 0;
}

static int wait_one(struct st_engine *e, struct st_chunk **c, int *res)
{
	struct io_uring_cqe *cqe;
	int err;

	err = flush(e);
	if (err)
		return err;
	do
		err = io_uring_wait_cqe(&e->ring, &cqe);
	while (err == -EINTR);
	if (err)
		return err;
	*c = io_uring_cqe_get_data(cqe);
	*res = cqe->res;
	io_uring_cqe_seen(&e->ring, cqe);
	return 0;
}

static bool fixed_files(struct st_engine *e)
{
	return e->files_registered;
}

static void destroy(struct st_engine *e)
{
	io_uring_queue_exit(&e->ring);
	st_free(e);
}

const struct st_engine_ops st_engine_uring = {
	.name = "io_uring",
	.create = create,
	.start = start,
	.register_buffer = reg,
	.unregister_buffer = unreg,
	.submit = submit,
	.flush = flush,
	.wait = wait_one,
	.destroy = destroy,
	.fixed_files = fixed_files,
};

#else /* !HAVE_LIBURING */

static int create(struct st_engine **out, unsigned depth, const struct st_io_file *files, unsigned nfiles)
{
	(void)out, (void)depth, (void)files, (void)nfiles;
	return -ENOSYS;
}

const struct st_engine_ops st_engine_uring = { .name = "io_uring", .create = create };

#endif
