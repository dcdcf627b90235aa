#!/usr/bin/env python3
"""tests/topo/make-fixtures.py — regenerate the synthetic topology fixtures.

The fixtures are hwloc XML files for machines this test box is not: two and
four NUMA nodes with a GPU on node 1, an NVMe disk on node 0 and a NIC on the
last node.  hwloc's synthetic generator (lstopo -i) draws the CPU side; this
script adds the NUMA distance matrix and the PCI devices, which synthetic
descriptions cannot express.  Run it from anywhere; it rewrites the *.xml
files next to itself.  Requires the `hwloc` package (lstopo-no-graphics).
"""
import os
import subprocess
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))

MACHINES = {
    "two-node-gpu.xml": {
        "synthetic": "pack:2 [numa(memory=16GB)] l3:1(size=32MB) core:4 l2:1(size=1MB) "
                     "l1d:1(size=48KB) pu:2",
        "distances": [[10, 21], [21, 10]],
        "parent_type": "Package",
    },
    "four-node-gpu.xml": {
        "synthetic": "pack:2 die:2 [numa(memory=8GB)] l3:1(size=16MB) core:2 l2:1(size=1MB) "
                     "l1d:1(size=48KB) pu:2",
        "distances": [[10, 12, 32, 32], [12, 10, 32, 32], [32, 32, 10, 12], [32, 32, 12, 10]],
        "parent_type": "Die",
    },
}

# (node index the device hangs under, busid, class, vendor:device, os name, osdev_type)
# osdev_type: 0 block, 1 gpu, 2 network, 5 coproc (hwloc 2.x numbering)
def devices(nodes):
    last = nodes - 1
    return [
        (0, "0000:01:00.0", "0108", "144d:a80a", "nvme0n1", 0),
        (1, "0000:41:00.0", "0302", "10de:2330", "cuda0", 5),
        (last, "0000:c1:00.0", "0200", "15b3:101d", "eth1", 2),
    ]


def generate(name, spec):
    xml = subprocess.run(["lstopo-no-graphics", "-i", spec["synthetic"], "--of", "xml", "-"],
                         check=True, capture_output=True, text=True).stdout
    root = ET.fromstring(xml)
    parents = [o for o in root.iter("object") if o.get("type") == spec["parent_type"]]
    gp = 1000
    for node, busid, cls, ids, osname, ostype in devices(len(spec["distances"])):
        vendor, device = ids.split(":")
        pci = ET.SubElement(parents[node], "object", {
            "type": "PCIDev", "gp_index": str(gp), "pci_busid": busid,
            "pci_type": f"{cls} [{vendor}:{device}] [0000:0000] 00", "pci_link_speed": "0.000000"})
        ET.SubElement(pci, "object", {"type": "OSDev", "gp_index": str(gp + 1), "name": osname,
                                      "osdev_type": str(ostype)})
        gp += 2
    n = len(spec["distances"])
    dist = ET.SubElement(root, "distances2", {"type": "NUMANode", "nbobjs": str(n), "kind": "5",
                                              "name": "NUMALatency", "indexing": "os"})
    # hwloc's "length" is the length of the text, trailing space included.
    indexes = "".join(f"{i} " for i in range(n))
    values = "".join(f"{v} " for row in spec["distances"] for v in row)
    ET.SubElement(dist, "indexes", {"length": str(len(indexes))}).text = indexes
    ET.SubElement(dist, "u64values", {"length": str(len(values))}).text = values
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    with open(os.path.join(HERE, name), "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n')
        f.write(body + "\n")


if __name__ == "__main__":
    for name, spec in MACHINES.items():
        generate(name, spec)
        print("wrote", name)
