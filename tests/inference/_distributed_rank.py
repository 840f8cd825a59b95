"""One process of a ``torchrun`` launch of :func:`run_distributed_inference` with a stand-in detector, for the tests.

``python -m torch.distributed.run --standalone --nproc_per_node=N _distributed_rank.py OUTPUT [--resume] INPUT ...``

The detector marks the brightest voxel of each scan (no network: a launch takes seconds). Each rank prints one line
``rank R of N ran: NAME NAME ...`` naming the scans its detector ran on, and exits with the run's status.
"""

import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

from _inference_helpers import result_of_mask  # noqa: E402

from cmb_kd.inference import TorchrunRank, process_group, run_distributed_inference  # noqa: E402


class BrightestVoxel:
    """One detection at the brightest voxel of each scan; remembers the scans it ran on."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, data, affine, phase=None, name=None):
        self.names.append(Path(name).name.split(".")[0])
        mask = np.zeros(data.shape, dtype=np.uint8)
        mask[np.unravel_index(np.argmax(data), data.shape)] = 1
        return result_of_mask(mask, affine)


def main(argv: list[str]) -> int:
    output, *inputs = argv
    resume = "--resume" in inputs
    inputs = [path for path in inputs if path != "--resume"]
    rank = TorchrunRank.from_environment()
    detector = BrightestVoxel()
    with process_group(rank.device("cpu")):
        run = run_distributed_inference(inputs, output, detector, resume=resume)
    # one write of the whole line (a pipe keeps a write this small whole), so the two ranks' lines never interleave
    sys.stdout.write(f"rank {rank.rank} of {rank.world_size} ran: {' '.join(detector.names)}\n")
    sys.stdout.flush()
    return run.status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
