"""Peak resident memory of this process, in KiB, for the benchmarks' PyTorch children.

VmHWM (Linux) is the high-water mark of this process's own address space. getrusage's
ru_maxrss is not: it carries the parent's resident size at fork across exec, so a child of a
large node process would report the parent's memory as its own (a 39 MiB child of a 500 MiB
parent reads 504 MiB).
"""

import re
import resource


def peak_rss_kb():
    try:
        with open("/proc/self/status") as f:
            m = re.search(r"^VmHWM:\s*(\d+) kB", f.read(), re.M)
        if m:
            return int(m.group(1))
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
