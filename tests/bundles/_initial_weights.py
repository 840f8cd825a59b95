"""Saves the weights each process of a bundle run starts from, for the multi-GPU tests.

``python -m torch.distributed.run ... _initial_weights.py OUT_DIR SEED CONFIG [CONFIG ...]`` reads the bundle's
configs (with ``bundle_root`` OUT_DIR, ``seed`` SEED and a tiny network), runs their ``initialize``, builds
``network`` (wrapped by DDP, which gives every rank the parameters of rank 0) and saves the state dict of the network
inside to ``OUT_DIR/rank-R.pt``; then runs ``finalize``.
"""

import sys

import torch
from monai.bundle import ConfigParser

from cmb_kd.inference import default_bundle_dir


def main(out_dir: str, seed: str, *configs: str) -> None:
    parser = ConfigParser()
    parser.read_config([str(default_bundle_dir() / "configs" / name) for name in configs])
    parser.update({"bundle_root": out_dir, "seed": int(seed), "network_def#channels": [4, 8, 16, 32, 64]})
    parser.get_parsed_content("initialize")
    network = parser.get_parsed_content("network")
    torch.save(network.module.state_dict(), f"{out_dir}/rank-{torch.distributed.get_rank()}.pt")
    parser.get_parsed_content("finalize")


if __name__ == "__main__":
    main(*sys.argv[1:])
