"""Runs ``python -m monai.bundle ...`` with two probes, for the resume tests.

``python _training_probe.py -m monai.bundle run ...`` runs the bundle as ``python -m monai.bundle run ...`` would,
after installing

- a record of the patch sequence: every batch the trainer prepares appends one line to the file named by
  ``CMB_KD_PROBE_LOG``, the checksums of the HR patch and of the network input (the LR patch with its noise);
- a kill: when ``CMB_KD_PROBE_KILL`` is set, the process sends itself ``SIGKILL`` in the middle of writing the
  checkpoint whose file name contains that text, half of its bytes on the disk (a power cut or the OOM killer).
"""

import hashlib
import io
import os
import runpy
import signal
import sys

import torch

from cmb_kd.handlers import PrepareLowResolutionBatch


def _digest(tensor):
    return hashlib.sha1(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def _recording(call):
    def prepare(self, batchdata, *args, **kwargs):
        lr, label = call(self, batchdata, *args, **kwargs)
        with open(os.environ["CMB_KD_PROBE_LOG"], "a") as log:
            log.write(f"{_digest(batchdata[self.image_key])} {_digest(lr)}\n")
        return lr, label

    return prepare


def _killing(save, fragment):
    def killed_in_the_middle(obj, handle, *args, **kwargs):
        if fragment in os.readlink(f"/proc/self/fd/{handle.fileno()}"):  # the file being written
            buffer = io.BytesIO()
            save(obj, buffer, *args, **kwargs)
            handle.write(buffer.getvalue()[: buffer.tell() // 2])
            handle.flush()
            os.fsync(handle.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return save(obj, handle, *args, **kwargs)

    return killed_in_the_middle


if __name__ == "__main__":
    if "CMB_KD_PROBE_LOG" in os.environ:
        PrepareLowResolutionBatch.__call__ = _recording(PrepareLowResolutionBatch.__call__)
    if os.environ.get("CMB_KD_PROBE_KILL"):
        torch.save = _killing(torch.save, os.environ["CMB_KD_PROBE_KILL"])
    if sys.argv[1:3] != ["-m", "monai.bundle"]:
        sys.exit("usage: python _training_probe.py -m monai.bundle run ...")
    sys.argv = ["monai.bundle", *sys.argv[3:]]
    runpy.run_module("monai.bundle", run_name="__main__", alter_sys=True)
