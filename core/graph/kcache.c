/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kcache.c — compiled kernels on disk.
 *
 * An entry is <dir>/<key>.so: the shared object the compiler wrote,
 * followed by a trailer (magic, the object's length, its FNV-1a checksum
 * and the key), which the dynamic loader ignores.  The key hashes the
 * kernel source with everything else that shapes the object: the
 * compiler's path and version line, the flags, the CPU (brand and
 * feature bits, since -march=native follows them) and strata's version.
 *
 * A compiler writes into a temporary name of its own (pid and a counter)
 * and the finished entry is renamed into place, so two processes filling
 * the cache at once each see either no entry or a whole one.  An entry
 * that fails its checksum is deleted and built again.  Reading an entry
 * refreshes its modification time; when the folder grows past its bound
 * the least recently used entries go.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <strata/version.h>

#include "core/core_int.h"
#include "core/graph/kcache.h"

#define TRAILER_MAGIC "STRATAK1"

struct trailer {
	char magic[8];
	uint64_t length, checksum, key;
};

static const char *const cflags[] = { "-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno", "-w" };

/* Finding the compiler builds and loads a probe object (tens of ms): the
 * answer is kept for the process, as long as $STRATA_CC and $PATH, which
 * decide it, stay the same. */
static pthread_mutex_t found_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t found_for;
static struct st_toolchain found;

static uint64_t environment_hash(void)
{
	const char *cc = getenv("STRATA_CC"), *path = getenv("PATH");
	uint64_t h = st_fnv1a(cc ? cc : "-", cc ? strlen(cc) + 1 : 1, ST_FNV_SEED);

	return st_fnv1a(path ? path : "-", path ? strlen(path) + 1 : 1, h) | 1;
}

/* What identifies the compiler's binary: a new package changes these. */
static int binary_stamp(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	st_fmt(out, len, "%llu %llu %lld %lld.%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	       (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return 0;
}

/*
 * A fresh process would spend tens of milliseconds proving the compiler
 * again; the cache folder remembers the last proof in "toolchain": the
 * environment hash, the compiler's path and stamp, its version line.
 * Only an exact match is believed.
 */
static bool remembered(const char *dir, uint64_t env, struct st_toolchain *tc)
{
	char path[4200], line[4600], want[160], stamp[160];
	unsigned long long e;
	bool ok = false;
	FILE *f;

	if (!dir || st_cc_first(tc->cc, sizeof(tc->cc)) || binary_stamp(tc->cc, want, sizeof(want)))
		return false;
	st_fmt(path, sizeof(path), "%s/toolchain", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && sscanf(line, "%llx", &e) == 1 && e == env && fgets(line, sizeof(line), f) &&
	    strcspn(line, "\n") == strlen(tc->cc) && !strncmp(line, tc->cc, strlen(tc->cc)) &&
	    fgets(stamp, sizeof(stamp), f) && (stamp[strcspn(stamp, "\n")] = '\0', !strcmp(stamp, want)) &&
	    fgets(tc->version, sizeof(tc->version), f)) {
		tc->version[strcspn(tc->version, "\n")] = '\0';
		ok = true;
	}
	fclose(f);
	return ok;
}

static void remember(const char *dir, uint64_t env, const struct st_toolchain *tc)
{
	char path[4200], tmp[4300], stamp[160];
	FILE *f;

	if (!dir || binary_stamp(tc->cc, stamp, sizeof(stamp)))
		return;
	st_fmt(path, sizeof(path), "%s/toolchain", dir);
	st_fmt(tmp, sizeof(tmp), "%s/.toolchain.%d", dir, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%llx\n%s\n%s\n%s\n", (unsigned long long)env, tc->cc, stamp, tc->version);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

int st_kcache_toolchain(const char *dir, struct st_toolchain *tc)
{
	char brand[128];
	uint64_t features = st_cpu_features_detect(), version = STRATA_VERSION_NUMBER, env = environment_hash();
	unsigned i;
	int err;

	pthread_mutex_lock(&found_lock);
	if (found_for == env) {
		*tc = found;
		pthread_mutex_unlock(&found_lock);
		return 0;
	}
	pthread_mutex_unlock(&found_lock);
	memset(tc, 0, sizeof(*tc));
	if (!remembered(dir, env, tc)) {
		err = st_cc_find(tc->cc, sizeof(tc->cc), tc->version, sizeof(tc->version));
		if (err)
			return err;
		remember(dir, env, tc);
	}
	st_cpu_brand(brand, sizeof(brand));
	tc->id = st_fnv1a(tc->cc, strlen(tc->cc), ST_FNV_SEED);
	tc->id = st_fnv1a(tc->version, strlen(tc->version), tc->id);
	for (i = 0; i < ST_ARRAY_SIZE(cflags); i++)
		tc->id = st_fnv1a(cflags[i], strlen(cflags[i]) + 1, tc->id);
	tc->id = st_fnv1a(brand, strlen(brand), tc->id);
	tc->id = st_fnv1a(&features, sizeof(features), tc->id);
	tc->id = st_fnv1a(&version, sizeof(version), tc->id);
	pthread_mutex_lock(&found_lock);
	found = *tc;
	found_for = env;
	pthread_mutex_unlock(&found_lock);
	return 0;
}

uint64_t st_kcache_key(const struct st_toolchain *tc, const char *source)
{
	return st_fnv1a(source, strlen(source), tc->id);
}

static void entry_path(const char *dir, uint64_t key, char *path, size_t len)
{
	st_fmt(path, len, "%s/%016llx.so", dir, (unsigned long long)key);
}

/* Whether @path holds a whole entry for @key. */
static int verify(const char *path, uint64_t key)
{
	struct trailer tr;
	struct stat st;
	uint8_t *buf;
	int fd, err = -STRATA_EFORMAT;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < sizeof(tr) || st.st_size > (64 << 20)) {
		close(fd);
		return -STRATA_EFORMAT;
	}
	buf = st_malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) == st.st_size) {
		memcpy(&tr, buf + st.st_size - sizeof(tr), sizeof(tr));
		if (!memcmp(tr.magic, TRAILER_MAGIC, 8) && tr.key == key &&
		    tr.length == (uint64_t)st.st_size - sizeof(tr) &&
		    tr.checksum == st_fnv1a(buf, (size_t)tr.length, ST_FNV_SEED))
			err = 0;
	}
	st_free(buf);
	close(fd);
	return err;
}

int st_kcache_lookup(const char *dir, uint64_t key, char *path, size_t len)
{
	int err;

	entry_path(dir, key, path, len);
	err = verify(path, key);
	if (err == -STRATA_EFORMAT) {
		st_warn("kernel cache: %s is damaged; building it again", path);
		unlink(path);
		return -ENOENT;
	}
	if (err == 0)
		utimensat(AT_FDCWD, path, NULL, 0); /* recently used */
	return err;
}

/* Append the trailer to the object at @tmp. */
static int seal(const char *tmp, uint64_t key)
{
	struct trailer tr = { .key = key };
	struct stat st;
	uint8_t *buf;
	int fd, err = 0;

	memcpy(tr.magic, TRAILER_MAGIC, 8);
	fd = open(tmp, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(buf = st_malloc(st.st_size ? (size_t)st.st_size : 1))) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		err = -EIO;
	} else {
		tr.length = (uint64_t)st.st_size;
		tr.checksum = st_fnv1a(buf, (size_t)st.st_size, ST_FNV_SEED);
		if (pwrite(fd, &tr, sizeof(tr), st.st_size) != (ssize_t)sizeof(tr))
			err = -EIO;
	}
	st_free(buf);
	if (close(fd) < 0 && !err)
		err = -EIO;
	return err;
}

int st_kcache_build_start(const struct st_toolchain *tc, const char *dir, uint64_t key, const char *source,
			  struct st_kbuild *b)
{
	static atomic_uint counter;
	char flags[ST_ARRAY_SIZE(cflags)][32], cc[sizeof(tc->cc)], o[] = "-o";
	char *argv[ST_ARRAY_SIZE(cflags) + 5];
	unsigned n = 0, i, c = atomic_fetch_add(&counter, 1);
	FILE *f;
	int err;

	memset(b, 0, sizeof(*b));
	b->key = key;
	b->pid = -1;
	st_fmt(b->src, sizeof(b->src), "%s/.%016llx.%d.%u.c", dir, (unsigned long long)key, (int)getpid(), c);
	st_fmt(b->tmp, sizeof(b->tmp), "%s/.%016llx.%d.%u.so", dir, (unsigned long long)key, (int)getpid(), c);
	entry_path(dir, key, b->path, sizeof(b->path));
	f = fopen(b->src, "we");
	if (!f)
		return -errno;
	fputs(source, f);
	if (fclose(f)) {
		unlink(b->src);
		return -EIO;
	}
	/* posix_spawn takes char *const[]: give it copies it may not write. */
	st_fmt(cc, sizeof(cc), "%s", tc->cc);
	argv[n++] = cc;
	for (i = 0; i < ST_ARRAY_SIZE(cflags); i++) {
		st_fmt(flags[i], sizeof(flags[i]), "%s", cflags[i]);
		argv[n++] = flags[i];
	}
	argv[n++] = o;
	argv[n++] = b->tmp;
	argv[n++] = b->src;
	argv[n] = NULL;
	err = st_cc_spawn(argv, -1, &b->pid);
	if (err) {
		unlink(b->src);
		b->pid = -1;
	}
	return err;
}

int st_kcache_build_finish(struct st_kbuild *b)
{
	int rc, err;

	if (b->pid < 0)
		return -ECHILD;
	rc = st_cc_wait(b->pid);
	b->pid = -1;
	if (rc != 0) {
		/* Keep the source that failed, for the bug report. */
		char kept[sizeof(b->src)];

		st_fmt(kept, sizeof(kept), "%.*s.failed.c", (int)(strlen(b->path) - 3), b->path);
		if (rename(b->src, kept) == 0)
			st_fmt(b->src, sizeof(b->src), "%s", kept);
		else
			unlink(b->src);
		unlink(b->tmp);
		return rc > 0 ? -ENOEXEC : rc;
	}
	unlink(b->src);
	err = seal(b->tmp, b->key);
	if (!err && rename(b->tmp, b->path) < 0)
		err = -errno;
	if (err)
		unlink(b->tmp);
	return err;
}

struct entry {
	char name[32];
	off_t size;
	struct timespec used;
};

static int by_age(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;

	if (a->used.tv_sec != b->used.tv_sec)
		return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
	return (a->used.tv_nsec > b->used.tv_nsec) - (a->used.tv_nsec < b->used.tv_nsec);
}

int st_kcache_trim(const char *dir, uint64_t max_bytes, unsigned *removed)
{
	struct entry *list = NULL, *grown;
	size_t n = 0, cap = 0, i;
	uint64_t total = 0;
	time_t now = time(NULL);
	struct dirent *d;
	DIR *dh = opendir(dir);

	*removed = 0;
	if (!dh)
		return -errno;
	while ((d = readdir(dh))) {
		struct stat st;
		size_t len = strlen(d->d_name);

		if (fstatat(dirfd(dh), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		/* A temporary file an hour old belongs to a process that died. */
		if (d->d_name[0] == '.' && now - st.st_mtime > 3600) {
			unlinkat(dirfd(dh), d->d_name, 0);
			continue;
		}
		if (d->d_name[0] == '.' || len != 19 || strcmp(d->d_name + 16, ".so"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = st_realloc(list, cap * sizeof(*list));
			if (!grown) {
				st_free(list);
				closedir(dh);
				return -ENOMEM;
			}
			list = grown;
		}
		st_fmt(list[n].name, sizeof(list[n].name), "%s", d->d_name);
		list[n].size = st.st_size;
		list[n].used = st.st_mtim;
		total += (uint64_t)st.st_size;
		n++;
	}
	qsort(list, n, sizeof(*list), by_age);
	for (i = 0; i < n && total > max_bytes; i++)
		if (unlinkat(dirfd(dh), list[i].name, 0) == 0) {
			total -= (uint64_t)list[i].size;
			(*removed)++;
		}
	closedir(dh);
	st_free(list);
	return 0;
}
