"""EpochBatchSampler: the order is a function of (seed, epoch) only; ranks split global batches so
that W processes x B see what one process x W*B sees; an epoch can start mid-way."""
import numpy as np
import pytest

from paddlevideo.loader.sampler import EpochBatchSampler


def batches(num_samples, batch_size, seed, epoch, rank=0, world=1, start=0):
    sampler = EpochBatchSampler(num_samples, batch_size, seed, rank, world)
    sampler.set_epoch(epoch, start)
    return list(sampler)


def test_same_seed_and_epoch_same_order_other_epoch_or_seed_differs():
    assert batches(20, 4, seed=3, epoch=1) == batches(20, 4, seed=3, epoch=1)
    assert batches(20, 4, seed=3, epoch=1) != batches(20, 4, seed=3, epoch=2)
    assert batches(20, 4, seed=3, epoch=1) != batches(20, 4, seed=4, epoch=1)


def test_every_sample_at_most_once_and_partial_global_batch_dropped():
    flat = [i for b in batches(22, 4, seed=0, epoch=0) for i in b]
    assert len(flat) == 20 and len(set(flat)) == 20
    assert len(EpochBatchSampler(22, 4, 0, 0, 2)) == 2  # 22 // (4 x 2)


def test_ranks_split_each_global_batch_like_one_process_with_the_global_batch():
    single = batches(37, 6, seed=9, epoch=4)
    rank0 = batches(37, 3, seed=9, epoch=4, rank=0, world=2)
    rank1 = batches(37, 3, seed=9, epoch=4, rank=1, world=2)
    assert len(single) == len(rank0) == len(rank1) == 6
    for whole, a, b in zip(single, rank0, rank1):
        assert whole == a + b


def test_starting_mid_epoch_continues_the_same_order():
    full = batches(30, 4, seed=1, epoch=2)
    assert batches(30, 4, seed=1, epoch=2, start=3) == full[3:]
    assert batches(30, 4, seed=1, epoch=2, start=len(full)) == []


def test_without_shuffle_the_dataset_order():
    sampler = EpochBatchSampler(8, 2, seed=0, shuffle=False)
    assert [i for b in sampler for i in b] == list(range(8))


def test_too_few_samples_for_one_global_batch_is_an_error():
    with pytest.raises(ValueError, match="cannot fill one global batch"):
        EpochBatchSampler(5, 3, 0, 0, 2)


def test_per_sample_seeds_make_clips_independent_of_order_and_workers(tmp_path):
    """A dataset seeded per (seed, epoch, index) draws the same augmentation whatever came before."""
    from paddlevideo.loader.dataset.base import ClipDataset

    class Draws(ClipDataset):
        def parse_line(self, line, where):
            return {"filename": line, "label": 0}

        def load(self, idx):
            return np.random.rand(3).astype(np.float32), None

    (tmp_path / "l.txt").write_text("a\nb\nc\n")
    ds = Draws(str(tmp_path / "l.txt"), pipeline={})
    ds.seed_samples(5, 1)
    forward = [ds[i].imgs for i in (0, 1, 2)]
    backward = [ds[i].imgs for i in (2, 1, 0)][::-1]
    np.testing.assert_array_equal(forward, backward)
    ds.seed_samples(5, 2)
    assert not np.array_equal(ds[0].imgs, forward[0])
