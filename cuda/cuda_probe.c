/* SPDX-License-Identifier: MIT */
/*
 * cuda/cuda_probe.c — find the CUDA driver and NVRTC at run time.
 *
 * Both libraries are opened with dlopen and RTLD_NODELETE: a probe creates
 * no CUDA context (that would hold hundreds of MiB of device memory), but
 * the libraries stay mapped after dlclose, because unloading them is not
 * safe (libcuda keeps threads; NVRTC pulls in libstdc++, whose exception
 * pool would be unmapped under live pointers) and the CUDA backend opens
 * them again anyway.  The
 * headers give the exact prototypes, so a signature change in a new CUDA
 * release is a compile error here rather than a crash.
 */
#include <dlfcn.h>
#include <errno.h>

#include "base/base.h"
#include "config.h"
#include "cuda/cuda_probe.h"

#if HAVE_CUDA_H
#include <cuda.h>
#include <nvrtc.h>

struct driver_fns {
	__typeof__(cuInit) *init;
	__typeof__(cuDriverGetVersion) *version;
	__typeof__(cuDeviceGetCount) *count;
	__typeof__(cuDeviceGet) *get;
	__typeof__(cuDeviceGetName) *name;
};

static int load_driver(void *h, struct driver_fns *f)
{
	*(void **)&f->init = dlsym(h, "cuInit");
	*(void **)&f->version = dlsym(h, "cuDriverGetVersion");
	*(void **)&f->count = dlsym(h, "cuDeviceGetCount");
	*(void **)&f->get = dlsym(h, "cuDeviceGet");
	*(void **)&f->name = dlsym(h, "cuDeviceGetName");
	return f->init && f->version && f->count && f->get && f->name ? 0 : -EIO;
}

int st_cuda_probe_driver(char *detail, size_t len)
{
	struct driver_fns f;
	char name[128] = "";
	int version = 0, count = 0, err;
	CUresult r;
	CUdevice dev;
	void *h;

	h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		st_fmt(detail, len, "libcuda.so.1 not found: no NVIDIA driver installed");
		return -ENODEV;
	}
	err = load_driver(h, &f);
	if (err) {
		st_fmt(detail, len, "libcuda.so.1 lacks driver API entry points");
		goto out;
	}
	r = f.init(0);
	if (r == CUDA_ERROR_NO_DEVICE) {
		st_fmt(detail, len, "driver loaded, but no CUDA device is visible");
		err = -ENODEV;
		goto out;
	}
	if (r != CUDA_SUCCESS) {
		st_fmt(detail, len, "cuInit failed with CUresult %d", (int)r);
		err = -EIO;
		goto out;
	}
	f.version(&version);
	f.count(&count);
	if (count > 0 && f.get(&dev, 0) == CUDA_SUCCESS)
		f.name(name, (int)sizeof(name), dev);
	st_fmt(detail, len, "driver %d.%d, %d device(s)%s%s", version / 1000, version % 1000 / 10, count,
	       *name ? ", device 0: " : "", name);
	err = count > 0 ? 0 : -ENODEV;
out:
	dlclose(h);
	return err;
}

static void *open_nvrtc(const char **which)
{
	static const char *const names[] = { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2",
					     "libnvrtc.so" };
	unsigned i;

	for (i = 0; i < ST_ARRAY_SIZE(names); i++) {
		void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

		if (h) {
			*which = names[i];
			return h;
		}
	}
	return NULL;
}

int st_cuda_probe_nvrtc(char *detail, size_t len)
{
	__typeof__(nvrtcVersion) *version;
	__typeof__(nvrtcGetNumSupportedArchs) *num_archs;
	__typeof__(nvrtcGetSupportedArchs) *archs;
	int major = 0, minor = 0, n = 0, list[128];
	const char *which = NULL;
	int err = 0;
	void *h;

	h = open_nvrtc(&which);
	if (!h) {
		st_fmt(detail, len, "libnvrtc not found on the library path");
		return -ENOENT;
	}
	*(void **)&version = dlsym(h, "nvrtcVersion");
	*(void **)&num_archs = dlsym(h, "nvrtcGetNumSupportedArchs");
	*(void **)&archs = dlsym(h, "nvrtcGetSupportedArchs");
	if (!version || version(&major, &minor) != NVRTC_SUCCESS) {
		st_fmt(detail, len, "%s has no usable nvrtcVersion", which);
		err = -EIO;
		goto out;
	}
	if (num_archs && archs && num_archs(&n) == NVRTC_SUCCESS && n > 0 && n <= (int)ST_ARRAY_SIZE(list) &&
	    archs(list) == NVRTC_SUCCESS)
		st_fmt(detail, len, "%s: NVRTC %d.%d, targets sm_%d to sm_%d", which, major, minor, list[0],
		       list[n - 1]);
	else
		st_fmt(detail, len, "%s: NVRTC %d.%d", which, major, minor);
out:
	dlclose(h);
	return err;
}

#else

int st_cuda_probe_driver(char *detail, size_t len)
{
	st_fmt(detail, len, "strata was built without the CUDA headers");
	return -ENOSYS;
}

int st_cuda_probe_nvrtc(char *detail, size_t len)
{
	st_fmt(detail, len, "strata was built without the CUDA headers");
	return -ENOSYS;
}

#endif
