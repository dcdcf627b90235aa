/* SPDX-License-Identifier: MIT */
/*
 * core/topo_devices.c — the PCI devices placement cares about (GPUs,
 * storage, NICs, accelerators) and the NUMA node each one is close to.
 *
 * A device's locality is the nodeset of its first non-I/O ancestor in the
 * hwloc tree: a GPU behind package 1's root complex is local to package 1's
 * node.  A device attached above several nodes has no single local node
 * (-1), except on a one-node machine, where node 0 is local to everything.
 */
#include <errno.h>
#include <string.h>

#include "core/core_int.h"

static int device_kind(unsigned class_id)
{
	switch (class_id >> 8) {
	case 0x03:
		return STRATA_DEV_GPU;
	case 0x01:
		return class_id == 0x0108 ? STRATA_DEV_NVME : STRATA_DEV_DISK;
	case 0x02:
		return STRATA_DEV_NIC;
	case 0x12:
		return STRATA_DEV_ACCEL;
	case 0x0b:
		return class_id == 0x0b40 ? STRATA_DEV_ACCEL : -1; /* co-processor */
	default:
		return -1;
	}
}

/* The OS device whose name identifies the PCI device best: a CUDA/OpenCL
 * device over a DRM card, a block device over a controller's other names. */
static const char *os_name(hwloc_obj_t pci, int kind)
{
	hwloc_obj_t child, best = NULL;

	for (child = pci->io_first_child; child; child = child->next_sibling) {
		if (child->type != HWLOC_OBJ_OS_DEVICE || !child->name)
			continue;
		if (!best)
			best = child;
		if (kind == STRATA_DEV_GPU && child->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC)
			return child->name;
		if ((kind == STRATA_DEV_NVME || kind == STRATA_DEV_DISK) &&
		    child->attr->osdev.type == HWLOC_OBJ_OSDEV_BLOCK)
			return child->name;
	}
	return best ? best->name : NULL;
}

static int local_node(const struct strata_topo *t, hwloc_obj_t pci)
{
	hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t->hw, pci);
	unsigned i;
	int os;

	if (t->n_nodes == 1)
		return 0;
	if (!anc || !anc->nodeset || hwloc_bitmap_weight(anc->nodeset) != 1)
		return -1;
	os = hwloc_bitmap_first(anc->nodeset);
	for (i = 0; i < t->n_nodes; i++)
		if ((int)t->nodes[i].info.os_index == os)
			return (int)i;
	return -1;
}

int st_topo_collect_devices(struct strata_topo *t)
{
	hwloc_obj_t pci = NULL;
	unsigned n = 0;

	while ((pci = hwloc_get_next_pcidev(t->hw, pci)))
		if (device_kind(pci->attr->pcidev.class_id) >= 0)
			n++;
	if (!n)
		return 0;
	t->devices = st_calloc(n, sizeof(*t->devices));
	if (!t->devices)
		return -ENOMEM;
	while ((pci = hwloc_get_next_pcidev(t->hw, pci))) {
		struct hwloc_pcidev_attr_s *a = &pci->attr->pcidev;
		struct strata_topo_device *d = &t->devices[t->n_devices];
		int kind = device_kind(a->class_id);
		const char *name;

		if (kind < 0)
			continue;
		d->sz = sizeof(*d);
		d->kind = (enum strata_device_kind)kind;
		st_fmt(d->pci_busid, sizeof(d->pci_busid), "%04x:%02x:%02x.%01x",
		       (unsigned)a->domain & 0xffff, a->bus, a->dev, a->func);
		name = os_name(pci, kind);
		st_fmt(d->name, sizeof(d->name), "%s", name ? name : d->pci_busid);
		d->vendor_id = a->vendor_id;
		d->device_id = a->device_id;
		d->pci_class = a->class_id;
		d->node = local_node(t, pci);
		t->n_devices++;
	}
	return 0;
}
