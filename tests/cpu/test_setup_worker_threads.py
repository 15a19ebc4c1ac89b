"""Data-loading workers run one OpenCV and one OpenMP/MKL thread, so that N workers and the model's
threads do not oversubscribe the cores; the main process keeps its threads for the model."""
import os

import cv2
import numpy as np

from paddlevideo.loader.batch import split_batch
from paddlevideo.loader.builder import build_dataloader
from paddlevideo.loader.dataset.base import ClipSample


class ThreadReport:
    """Each sample's 'clip' is what the worker process sees: OpenCV threads, OMP/MKL threads, pid."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx):
        seen = [cv2.getNumThreads(), int(os.environ["OMP_NUM_THREADS"]), int(os.environ["MKL_NUM_THREADS"]),
                os.getpid()]
        return ClipSample(np.array(seen, dtype=np.float32), 0, idx, ())


def test_workers_run_one_thread_each():
    main_omp = os.environ.get("OMP_NUM_THREADS")
    loader = build_dataloader(ThreadReport(), [[0, 1], [2, 3]], num_workers=2)
    seen = np.concatenate([split_batch(batch)[0][0].numpy() for batch in loader])
    assert (seen[:, :3] == 1).all(), seen
    assert os.getpid() not in set(seen[:, 3].astype(int))  # read in the workers
    assert os.environ.get("OMP_NUM_THREADS") == main_omp  # the main process keeps the model's threads
